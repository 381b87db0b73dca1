"""calculation runs, the payees each computed, and payout lines (append-only)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 10:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import openspm.store.types


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

#: Earnings are facts: these tables are only ever appended to (a newer run supersedes, never rewrites).
APPEND_ONLY = ('calc_runs', 'calc_run_payees', 'payout_lines')


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('calc_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=False),
    sa.Column('by', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('inputs_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('plans_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('outputs_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('payees', sa.Integer(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calc_runs'))
    )
    with op.batch_alter_table('calc_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calc_runs_period'), ['period'], unique=False)

    op.create_table('calc_run_payees',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['calc_runs.id'], name=op.f('fk_calc_run_payees_run_id_calc_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calc_run_payees'))
    )
    with op.batch_alter_table('calc_run_payees', schema=None) as batch_op:
        batch_op.create_index('ix_calc_run_payees_period_person', ['period', 'person_id', 'run_id'], unique=False)

    op.create_table('payout_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('plan', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('component', sa.String(length=100), nullable=False),
    sa.Column('line_kind', sa.String(length=20), nullable=False),
    sa.Column('amount', openspm.store.types.Money(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('corrects_period', sa.String(length=16), nullable=True),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['calc_runs.id'], name=op.f('fk_payout_lines_run_id_calc_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_lines'))
    )
    with op.batch_alter_table('payout_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_lines_period'), ['period'], unique=False)
        batch_op.create_index('ix_payout_lines_run_person', ['run_id', 'person_id'], unique=False)

    _protect(APPEND_ONLY)


def downgrade() -> None:
    """Downgrade schema."""
    _unprotect(APPEND_ONLY)
    with op.batch_alter_table('payout_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_payout_lines_run_person')
        batch_op.drop_index(batch_op.f('ix_payout_lines_period'))
    op.drop_table('payout_lines')
    with op.batch_alter_table('calc_run_payees', schema=None) as batch_op:
        batch_op.drop_index('ix_calc_run_payees_period_person')
    op.drop_table('calc_run_payees')
    with op.batch_alter_table('calc_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calc_runs_period'))
    op.drop_table('calc_runs')


def _protect(tables: Sequence[str]) -> None:
    """Make the tables append-only in the database itself, as 0001 does for the audit log."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.execute(
            "CREATE FUNCTION calc_results_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'calculation results are append-only'; END $$"
        )
    for table in tables:
        if sqlite:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'calculation results are append-only'); END"
                )
        else:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION calc_results_append_only()"
            )


def _unprotect(tables: Sequence[str]) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in tables:
        if sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    if not sqlite:
        op.execute("DROP FUNCTION IF EXISTS calc_results_append_only()")
