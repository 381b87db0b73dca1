"""a draw per plan assignment (replacing the plan's draw for that person)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 08:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import openspm.store.types


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('plan_assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draw_kind', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('draw_amount', openspm.store.types.Money(), nullable=True))
        batch_op.add_column(sa.Column('draw_periods', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_plan_assignments_draw_whole'),
            "(draw_kind IS NULL AND draw_amount IS NULL AND draw_periods IS NULL) OR "
            "(draw_amount IS NOT NULL AND draw_periods IS NOT NULL "
            "AND draw_kind IN ('recoverable', 'non_recoverable') AND draw_amount >= 0 AND draw_periods >= 1)",
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('plan_assignments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_plan_assignments_draw_whole'), type_='check')
        batch_op.drop_column('draw_periods')
        batch_op.drop_column('draw_amount')
        batch_op.drop_column('draw_kind')
