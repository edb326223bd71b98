"""Migration 0002: the MLS delivery service (groups, access lists, rosters, the group log and
history), per-device mailboxes, calls and recordings (enseal.storage.models, phase 2). Every
existing device gets an empty mailbox.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recordings_call_id"), ["call_id"], unique=False)

    op.create_table(
        "mls_groups",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("conversation_key", sa.String(length=64), nullable=True),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("next_seq", sa.BigInteger(), nullable=False),
        sa.Column("view", sa.LargeBinary(), nullable=False),
        sa.Column("group_info", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_mls_groups_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mls_groups")),
        sa.UniqueConstraint("conversation_key", name=op.f("uq_mls_groups_conversation_key")),
    )
    with op.batch_alter_table("mls_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mls_groups_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "calls",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("caller_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("caller_device_id", sa.String(length=32), nullable=False),
        sa.Column("callee_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("encryption", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("rung_devices", sa.Text(), nullable=False),
        sa.Column("answered_device_id", sa.String(length=32), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("deadline", sa.BigInteger(), nullable=True),
        sa.Column("recording_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["callee_user_id"], ["users.id"], name=op.f("fk_calls_callee_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["caller_user_id"], ["users.id"], name=op.f("fk_calls_caller_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calls_callee_user_id"), ["callee_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_caller_user_id"), ["caller_user_id"], unique=False)
        batch_op.create_index("ix_calls_state_deadline", ["state", "deadline"], unique=False)

    op.create_table(
        "group_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("group_seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("sender_device_id", sa.String(length=32), nullable=True),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("client_message_id", sa.String(length=64), nullable=True),
        sa.Column("commit_epoch", sa.BigInteger(), nullable=True),
        sa.Column("removes_leaf", sa.Integer(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["mls_groups.id"], name=op.f("fk_group_items_group_id_mls_groups"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_items")),
        sa.UniqueConstraint("group_id", "commit_epoch", name="uq_group_items_commit_epoch"),
        sa.UniqueConstraint("group_id", "group_seq", name="uq_group_items_seq"),
        sa.UniqueConstraint("group_id", "sender_device_id", "client_message_id", name="uq_group_items_client_id"),
    )
    with op.batch_alter_table("group_items", schema=None) as batch_op:
        batch_op.create_index("ix_group_items_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_group_items_group_kind_seq", ["group_id", "kind", "group_seq"], unique=False)

    op.create_table(
        "mls_group_members",
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("leaf_index", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["mls_groups.id"], name=op.f("fk_mls_group_members_group_id_mls_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mls_group_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", "leaf_index", name=op.f("pk_mls_group_members")),
    )
    with op.batch_alter_table("mls_group_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mls_group_members_device_id"), ["device_id"], unique=False)

    op.create_table(
        "mls_group_users",
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["mls_groups.id"], name=op.f("fk_mls_group_users_group_id_mls_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mls_group_users_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_mls_group_users")),
    )
    with op.batch_alter_table("mls_group_users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mls_group_users_user_id"), ["user_id"], unique=False)

    op.create_table(
        "recording_chunks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("recording_id", sa.String(length=32), nullable=False),
        sa.Column("sealed_record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_recording_chunks_recording_id_recordings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sealed_record_id"],
            ["sealed_records.id"],
            name=op.f("fk_recording_chunks_sealed_record_id_sealed_records"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_chunks")),
    )
    with op.batch_alter_table("recording_chunks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recording_chunks_recording_id"), ["recording_id"], unique=False)

    op.create_table(
        "mailbox_entries",
        sa.Column("device_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_mailbox_entries_device_id_devices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["group_items.id"], name=op.f("fk_mailbox_entries_item_id_group_items"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("device_id", "seq", name=op.f("pk_mailbox_entries")),
    )
    with op.batch_alter_table("mailbox_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mailbox_entries_item_id"), ["item_id"], unique=False)

    op.create_table(
        "mailboxes",
        sa.Column("device_id", sa.String(length=32), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("acked_seq", sa.BigInteger(), nullable=False),
        sa.Column("dropped_upto", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_mailboxes_device_id_devices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_mailboxes")),
    )
    op.execute("INSERT INTO mailboxes (device_id, last_seq, acked_seq, dropped_upto) SELECT id, 0, 0, 0 FROM devices")


def downgrade() -> None:
    op.drop_table("mailboxes")
    with op.batch_alter_table("mailbox_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailbox_entries_item_id"))

    op.drop_table("mailbox_entries")
    with op.batch_alter_table("recording_chunks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_chunks_recording_id"))

    op.drop_table("recording_chunks")
    with op.batch_alter_table("mls_group_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mls_group_users_user_id"))

    op.drop_table("mls_group_users")
    with op.batch_alter_table("mls_group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mls_group_members_device_id"))

    op.drop_table("mls_group_members")
    with op.batch_alter_table("group_items", schema=None) as batch_op:
        batch_op.drop_index("ix_group_items_group_kind_seq")
        batch_op.drop_index("ix_group_items_created_at")

    op.drop_table("group_items")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_state_deadline")
        batch_op.drop_index(batch_op.f("ix_calls_caller_user_id"))
        batch_op.drop_index(batch_op.f("ix_calls_callee_user_id"))

    op.drop_table("calls")
    with op.batch_alter_table("mls_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mls_groups_tenant_id"))

    op.drop_table("mls_groups")
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recordings_call_id"))

    op.drop_table("recordings")
