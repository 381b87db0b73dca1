"""System of record: models, migrations, audit log and the columnar read path."""
