"""The demo company's fixed vocabulary: regions, segments, products, stages, names and phrases."""

from __future__ import annotations

from dataclasses import dataclass

COMPANY_NAME = "Cobalt Systems"
EMAIL_DOMAIN = "cobalt.example"
BASE_CURRENCY = "USD"
FISCAL_YEAR_START_MONTH = 2


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    probability: int  # percent
    forecast_category: str


STAGES: tuple[Stage, ...] = (
    Stage("Prospecting", 10, "Pipeline"),
    Stage("Discovery", 20, "Pipeline"),
    Stage("Qualification", 30, "Pipeline"),
    Stage("Solution", 50, "Best Case"),
    Stage("Proposal", 70, "Best Case"),
    Stage("Negotiation", 85, "Commit"),
    Stage("Closed Won", 100, "Closed"),
    Stage("Closed Lost", 0, "Omitted"),
)
OPEN_STAGES = 6  # the first six stages are open; index 6 is Closed Won, 7 Closed Lost
WON, LOST = 6, 7
PROPOSAL = 4  # the amount is revised when a deal reaches Proposal

# The evidence a deal can show for leaving each open stage (what "earned its stage" can check); how often
# it is there depends on the owner's discipline and on whether the deal wins.
EXIT_EVIDENCE: dict[str, str] = {
    "Prospecting": "a call or meeting linked to the deal (for SDR-sourced deals, the first meeting)",
    "Discovery": "a meeting with outcome 'discovery' linked to the deal",
    "Qualification": "MEDDICC metrics and economic_buyer filled (opportunity extra)",
    "Solution": "a demo linked to the deal",
    "Proposal": "mutual_action_plan true (opportunity extra)",
    "Negotiation": "a next step with a date",
}


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    weight: float
    currency: str
    legal_suffix: str
    cities: tuple[tuple[float, float], ...]  # (lat, lon)


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    utc_start_hour: int  # when the working day starts, in UTC
    countries: tuple[Country, ...]


# fmt: off
REGIONS: tuple[Region, ...] = (
    Region("AMER", "Americas", 14, (
        Country("US", 0.74, "USD", "Inc.", ((40.71, -74.01), (41.88, -87.63), (37.77, -122.42),
                                            (30.27, -97.74), (47.61, -122.33), (42.36, -71.06))),
        Country("CA", 0.14, "USD", "Ltd.", ((43.65, -79.38), (49.28, -123.12), (45.50, -73.57))),
        Country("MX", 0.06, "USD", "S.A.", ((19.43, -99.13), (25.69, -100.32))),
        Country("BR", 0.06, "USD", "Ltda.", ((-23.55, -46.63), (-22.91, -43.17))),
    )),
    Region("EMEA", "Europe, Middle East & Africa", 8, (
        Country("GB", 0.26, "GBP", "Ltd", ((51.51, -0.13), (53.48, -2.24), (55.95, -3.19))),
        Country("DE", 0.20, "EUR", "GmbH", ((52.52, 13.40), (48.14, 11.58), (50.11, 8.68))),
        Country("FR", 0.14, "EUR", "SAS", ((48.86, 2.35), (45.76, 4.84))),
        Country("NL", 0.10, "EUR", "B.V.", ((52.37, 4.90), (51.92, 4.48))),
        Country("ES", 0.08, "EUR", "S.L.", ((40.42, -3.70), (41.39, 2.17))),
        Country("SE", 0.08, "USD", "AB", ((59.33, 18.07), (57.71, 11.97))),
        Country("CH", 0.08, "USD", "AG", ((47.38, 8.54), (46.20, 6.14))),
        Country("AE", 0.06, "USD", "LLC", ((25.20, 55.27), (24.45, 54.38))),
    )),
    Region("APAC", "Asia Pacific", 0, (
        Country("AU", 0.32, "USD", "Pty Ltd", ((-33.87, 151.21), (-37.81, 144.96), (-27.47, 153.03))),
        Country("JP", 0.20, "USD", "K.K.", ((35.68, 139.69), (34.69, 135.50))),
        Country("SG", 0.16, "USD", "Pte. Ltd.", ((1.35, 103.82),)),
        Country("IN", 0.20, "USD", "Pvt. Ltd.", ((19.08, 72.88), (12.97, 77.59), (28.61, 77.21))),
        Country("NZ", 0.06, "USD", "Ltd", ((-36.85, 174.76),)),
        Country("KR", 0.06, "USD", "Co.", ((37.57, 126.98),)),
    )),
)
# fmt: on


@dataclass(frozen=True, slots=True)
class Product:
    product_id: str
    name: str
    family: str
    list_price: int  # whole USD
    is_renewable: bool


# fmt: off
PRODUCTS: tuple[Product, ...] = (
    Product("PRD-STARTER", "Cobalt Platform Starter", "Platform", 6_000, True),
    Product("PRD-PRO", "Cobalt Platform Professional", "Platform", 24_000, True),
    Product("PRD-ENT", "Cobalt Platform Enterprise", "Platform", 96_000, True),
    Product("PRD-INSIGHTS", "Insights Add-on", "Analytics", 9_000, True),
    Product("PRD-FORECAST", "Forecasting Add-on", "Analytics", 15_000, True),
    Product("PRD-CONNECT", "Data Connectors", "Analytics", 4_800, True),
    Product("PRD-ONBOARD", "Onboarding Package", "Services", 7_500, False),
    Product("PRD-SUPPORT", "Premium Support", "Services", 12_000, False),
)
# fmt: on
ADD_ON_PRODUCTS = (3, 5, 6, 7)  # indexes of products sold as extra lines on multi-line deals


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    account_share: float
    potential_median: int  # USD
    cycle_median_days: float
    deals_per_workday: float  # self-sourced deals an average AE opens per working day
    amount_multiplier: float  # deal amount ≈ list price × this (lognormal around it)
    product_weights: tuple[float, ...]  # over PRODUCTS


# fmt: off
SEGMENTS: tuple[Segment, ...] = (
    Segment("SMB", 0.60, 60_000, 35, 0.68, 1.5, (0.50, 0.20, 0.0, 0.15, 0.0, 0.10, 0.05, 0.0)),
    Segment("Mid-Market", 0.30, 400_000, 70, 0.44, 1.6, (0.0, 0.40, 0.0, 0.20, 0.20, 0.0, 0.10, 0.10)),
    Segment("Enterprise", 0.10, 2_000_000, 120, 0.17, 1.3, (0.0, 0.15, 0.50, 0.0, 0.20, 0.0, 0.0, 0.15)),
)
# fmt: on
TEAM_SEGMENTS = (2, 1, 0, 0)  # per region, teams cycle through Enterprise, Mid-Market, SMB, SMB

# fmt: off
INDUSTRIES = (
    "Software", "Financial Services", "Healthcare", "Manufacturing", "Retail", "Logistics",
    "Education", "Public Sector", "Media", "Energy", "Telecommunications", "Professional Services",
)

FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Daniel", "Elena", "Felix", "Grace", "Hugo", "Isla", "Jonas", "Kira", "Liam",
    "Maya", "Noah", "Olivia", "Pablo", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera", "Wes", "Yara",
    "Zoe", "Aiden", "Bianca", "Carlos", "Dana", "Emil", "Farah", "Gabriel", "Hana", "Ivan", "Julia",
    "Kenji", "Lena", "Marco", "Nadia", "Oscar", "Priya", "Rafael", "Sofia", "Theo", "Ursula", "Victor",
    "Wen", "Ximena", "Yusuf", "Zara", "Amelia", "Bruno", "Clara", "Dev", "Eva", "Finn", "Gita", "Henrik",
    "Ines", "Jack",
)
LAST_NAMES = (
    "Adams", "Bauer", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Kim",
    "Larsen", "Martin", "Nakamura", "Okafor", "Patel", "Quintero", "Rossi", "Schmidt", "Tanaka", "Usman",
    "Varga", "Weber", "Xu", "Yilmaz", "Zimmer", "Andersen", "Brooks", "Chen", "Diaz", "Eriksson", "Ferreira",
    "Gupta", "Hughes", "Ivanova", "Johnson", "Kowalski", "Lopez", "Meyer", "Nguyen", "O'Brien", "Petrov",
    "Reyes", "Singh", "Torres", "Ueda", "Vogel", "Walsh", "Young", "Zhang", "Alvarez", "Becker", "Cohen",
    "Dahl", "Edwards", "Fontaine", "Graham", "Horvat", "Jovanovic", "Keller", "Lindqvist", "Moreau",
    "Novak", "Olsen", "Park", "Ramos", "Sato", "Thompson", "Vasquez", "Wright", "Abbott", "Bishop",
    "Carter", "Dunn", "Ellis", "Ford", "Gill", "Hart", "Iqbal", "Kerr",
)

ACCOUNT_WORDS_A = (
    "Amber", "Apex", "Arbor", "Atlas", "Aurora", "Beacon", "Birch", "Blue", "Bright", "Canyon", "Cedar",
    "Cinder", "Clear", "Coastal", "Copper", "Crest", "Crimson", "Delta", "Eagle", "Echo", "Ember", "Falcon",
    "Fern", "Fjord", "Granite", "Green", "Harbor", "Hazel", "Horizon", "Indigo", "Iron", "Juniper",
    "Keystone",
    "Lake", "Lumen", "Maple", "Meridian", "Mesa", "North", "Nova", "Oak", "Onyx", "Orbit", "Pacific",
    "Peak", "Pine", "Polar", "Prairie", "Quarry", "Raven", "Redwood", "River", "Sable", "Sage", "Silver",
    "Solar", "Spruce", "Stone", "Summit", "Tidal", "Timber", "True", "Union", "Valley", "Vertex", "Willow",
    "Zenith", "Alder", "Basalt", "Cobble", "Dune", "Elm", "Glacier", "Heron", "Island", "Jade", "Kestrel",
    "Linden", "Marble", "Nimbus",
)
ACCOUNT_WORDS_B = (
    "Analytics", "Bank", "Bio", "Build", "Capital", "Care", "Chemicals", "Cloud", "Data", "Dynamics",
    "Energy", "Engineering", "Foods", "Freight", "Health", "Insurance", "Labs", "Learning", "Logistics",
    "Machines", "Media", "Medical", "Metals", "Mobility", "Motors", "Networks", "Pharma", "Power",
    "Retail", "Robotics", "Security", "Shipping", "Software", "Steel", "Telecom", "Textiles", "Travel",
    "Utilities", "Ventures", "Works",
)
ACCOUNT_WORDS_C = ("", "Group", "Partners", "Systems", "Holdings", "Solutions", "International",
                   "Global", "Industries", "Technologies", "Services", "Collective")

NEXT_STEPS = (
    "Send proposal", "Schedule demo with IT", "Follow up on pricing questions",
    "Book call with economic buyer",
    "Agree mutual action plan", "Security review with procurement", "Send reference customer contacts",
    "Confirm budget and timeline", "Legal review of MSA", "Present business case to CFO",
)
ECONOMIC_BUYERS = ("CFO", "COO", "CIO", "CEO", "VP Finance", "VP Operations", "Chief Revenue Officer")
CHAMPIONS = ("Head of Sales Ops", "IT Director", "Finance Manager", "Head of Analytics", "RevOps Lead",
             "Operations Manager", "Data Team Lead")
# fmt: on
