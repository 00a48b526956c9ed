# The crlog event: one committed transaction (or import, schema change,
# policy, resolution, checkpoint) in a hash-linked, causally ordered log.
#
# Identity: an event's id is the SHA-256 of its canonical encoding
# (capnp::canonicalize: a single segment, no segment table, preorder layout,
# truncated trailing zeros). The canonical bytes are what is stored and sent;
# a receiver checks isCanonical() and recomputes the hash.
#
# Evolution: ordinals are never reused and fields are only added. The log's
# meta records the format version (see log/format.h and docs/format.md).

@0xefa4cd04708a88c8;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("crlog::log::wire");

struct Event {
  site @0 :Data;
  # 16-byte id of the replica that wrote the event. Empty for import events,
  # which belong to no site's seq chain.

  seq @1 :UInt64;
  # 1, 2, 3 ... per site, no gaps. 0 for import events.

  lamport @2 :UInt64;
  # 1 + the largest lamport among the parents; 1 when there are no parents.

  timeMicros @3 :Int64;
  # The writer's wall clock, microseconds since the Unix epoch. For display
  # only: causality never depends on it.

  parents @4 :List(Data);
  # 32-byte SHA-256 ids of the heads the writer had materialised when it
  # wrote this event, sorted bytewise, no duplicates. Empty for imports.

  group @5 :Group;
  # Set when one transaction was too big for one event (or a backfill):
  # the members are stored in one LMDB transaction and applied together.

  body :union {
    change @6 :Change;
    # A committed local transaction that touched replicated tables.

    import @7 :Import;
    # Changes accepted from a history-free peer (INSERT INTO crsql_changes).

    schemaChange @8 :SchemaChange;
    policy @9 :Policy;
    resolution @10 :Resolution;
    checkpoint @11 :Checkpoint;
  }

  signature @12 :Data;
  # Ed25519 signature (64 bytes) by the writing site's key, or absent (null)
  # when the site does not sign. Only native events are signed; imports
  # never are. The signed message is "crlog event v1\n" followed by the
  # SHA-256 of this event's canonical encoding with `signature` null, so the
  # signature covers every other field and the id covers the signature.
  # Being the last pointer, an absent signature is truncated away by
  # canonicalisation: unsigned events have the bytes (and ids) they had
  # before this field existed.
}

struct Group {
  index @0 :UInt32;
  # Position of this event in its group, 0-based.

  count @1 :UInt32;
  # Number of events in the group; 0 (or 1) means the event is not grouped.

  first @2 :Data;
  # Id of the group's first member (index 0); empty on the first member.
}

struct TableOps {
  # The operations on one table, grouped by row. Table and column names are
  # stored once per event; rows refer to columns by index into `columns`.

  table @0 :Text;
  columns @1 :List(Text);

  rowCount @2 :UInt32;
  # Number of rows encoded in `rows`.

  rows @3 :Data;
  # The rows, back to back, in the compact row encoding of docs/format.md
  # ("Row encoding"): per row the packed pk, the causal length and the
  # changed cells (column index, column version, value). A Cap'n Proto list
  # of structs costs about 150 bytes for a row of four columns; this costs
  # about what a SQLite session changeset does (docs/architecture.md).

  entries @4 :List(Data);
  # Packed pks of rows (each also in `rows`) whose existence entry (cr-sqlite's
  # cid '-1') this write recorded in the row's first life, causal length 1,
  # where the causal length alone does not imply one: the new key of an
  # UPDATE that changed the primary key, or an imported '-1' change. Sorted,
  # no duplicates; usually absent, so events without such rows keep the
  # bytes (and ids) they had before this field existed.
}

struct Change {
  tables @0 :List(TableOps);
  # Sorted by table name; each table appears once.
}

struct Import {
  origins @0 :List(Data);
  # 16-byte site ids of the replicas that wrote the imported changes, sorted.
  # Each imported cell names its origin by index into this list.

  tables @1 :List(TableOps);
  # As in Change, with each cell also carrying its origin index. The content
  # is deterministic (the accepted change tuples, sorted) so that two
  # replicas importing the same foreign changes write the same event.
}

struct SchemaChange {
  table @0 :Text;
  # The replicated table whose schema changed.

  sql @1 :Text;
  # The table's CREATE TABLE statement after the change ("" when dropped).

  columns @2 :List(Text);
  # Its non-pk columns after the change, in order.

  pkColumns @3 :List(Text);
  # Its primary-key columns, in pk order.
}

struct Policy {
  # How conflicts on a table (or one column) are resolved from now on.
  table @0 :Text;
  column @1 :Text;
  # Empty: the whole table.
  rule @2 :Text;
  # "lww", "mvr", "counter", "fork", or "resolver:NAME".
  argument @3 :Text;
}

struct Resolution {
  # A person's decision about a fork, so every replica agrees.
  action @0 :Action;
  enum Action {
    choose @0;
    drop @1;
  }
  fork @1 :Data;
  # Id of the event where the fork was detected.
  subjects @2 :List(Data);
  # Ids of the events that head the chosen or dropped side.
  note @3 :Text;
}

struct Checkpoint {
  # History below `frontier` folded away by garbage collection.
  frontier @0 :List(Data);
  # Ids of the events whose combined past the checkpoint replaces.
  tables @1 :List(TableOps);
  # The materialised state at the frontier, in the row encoding.
}
