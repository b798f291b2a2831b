//! The two migration sets build the same schema: statements written once (`portable`) can only
//! run on both backends if every table, column and key they name exists on both. Both backends
//! are migrated fresh and compared; the deliberate differences are spelled out below.

use std::collections::BTreeSet;

use infrastructure::portable::{self, Pool};
use infrastructure::testing::{Backend, TestDatabase};
use infrastructure::Store;

/// A column as both backends can describe it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    table: String,
    name: String,
    nullable: bool,
    class: TypeClass,
}

/// How a column's values travel (`portable::Value`). SQLite has no JSON, time or uuid type:
/// Postgres's `jsonb`, `timestamptz` and `uuid` are text there, so all of them count as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TypeClass {
    Integer,
    Boolean,
    Text,
}

/// A primary key or a unique constraint or index, by its columns in key order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    table: String,
    primary: bool,
    columns: String,
    /// A unique index over some rows only (`WHERE …`).
    partial: bool,
}

#[derive(Debug, PartialEq, Eq)]
struct Schema {
    tables: BTreeSet<String>,
    columns: BTreeSet<Column>,
    keys: BTreeSet<Key>,
}

/// Postgres orders the log by the id of the transaction that wrote each event (`tx_id`, an
/// `xid8`; see `store::global_order`). SQLite's writes are serial and need no such column.
const POSTGRES_ONLY: [(&str, &str); 1] = [("events", "tx_id")];

/// The event log follows the layouts of sqlite-es and postgres-es: on SQLite the primary key is
/// the rowid `position` (its order is the commit order), on Postgres the stream's sequence
/// (`events_pkey`, which the append's constraint classification reads). Each has the other as a
/// unique key, so in these tables a key counts by its columns, whichever one is primary.
const PRIMARY_KEY_DIFFERS: [&str; 1] = ["events"];

const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

#[tokio::test]
async fn both_backends_migrate_to_the_same_tables_columns_and_keys() {
    let sqlite_db = TestDatabase::create(Backend::Sqlite).await;
    let postgres_db = TestDatabase::create(Backend::Postgres).await;
    let sqlite = schema(&sqlite_db.store().await).await;
    let postgres = schema(&postgres_db.store().await).await;

    // Introspection that found nothing would compare equal too.
    assert!(sqlite.tables.contains("events") && sqlite.tables.contains("timers"));
    assert!(sqlite
        .keys
        .iter()
        .any(|key| key.table == "timers" && !key.primary));
    assert_eq!(sqlite.tables, postgres.tables);
    let only_in = |a: &BTreeSet<Column>, b: &BTreeSet<Column>| -> Vec<Column> {
        a.difference(b).cloned().collect()
    };
    assert_eq!(
        (
            only_in(&sqlite.columns, &postgres.columns),
            only_in(&postgres.columns, &sqlite.columns)
        ),
        (vec![], vec![]),
        "(columns only as described by SQLite, only as described by Postgres)"
    );
    assert_eq!(sqlite.keys, postgres.keys);
}

async fn schema(store: &Store) -> Schema {
    let tables: BTreeSet<String> = rows(store, TABLES_SQL, &[])
        .await
        .iter()
        .map(|row| row.get("name"))
        .filter(|name: &String| name != MIGRATIONS_TABLE)
        .collect();
    let mut columns = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for table in &tables {
        let primary = primary_key(store, table).await;
        for row in rows(store, COLUMNS_SQL, &[table]).await {
            let name: String = row.get("name");
            if store.backend() == "postgres" && POSTGRES_ONLY.contains(&(table.as_str(), &name)) {
                continue;
            }
            let declared: String = row.get("declared");
            // SQLite lets a primary-key column that is not an INTEGER PRIMARY KEY hold NULL (a
            // quirk it keeps for old files); Postgres does not. No statement writes one.
            let not_null = row.get::<bool>("not_null") || primary.contains(&name);
            columns.insert(Column {
                table: table.clone(),
                nullable: !not_null,
                class: type_class(&declared)
                    .unwrap_or_else(|| panic!("{table}.{name}: unknown type `{declared}`")),
                name,
            });
        }
        if !primary.is_empty() {
            keys.insert(Key {
                table: table.clone(),
                primary: !PRIMARY_KEY_DIFFERS.contains(&table.as_str()),
                columns: primary.join(","),
                partial: false,
            });
        }
        keys.extend(unique_keys(store, table).await);
    }
    Schema {
        tables,
        columns,
        keys,
    }
}

fn type_class(declared: &str) -> Option<TypeClass> {
    let declared = declared.to_ascii_lowercase();
    if declared.contains("int") {
        Some(TypeClass::Integer)
    } else if declared.contains("bool") {
        Some(TypeClass::Boolean)
    } else if ["text", "char", "json", "timestamp", "uuid"]
        .iter()
        .any(|text| declared.contains(text))
    {
        Some(TypeClass::Text)
    } else {
        None
    }
}

/// The statements of the backend the store runs on.
struct Dialect {
    postgres: &'static str,
    sqlite: &'static str,
}

const TABLES_SQL: Dialect = Dialect {
    postgres: "SELECT table_name::text AS name FROM information_schema.tables
                WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    sqlite: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
};

const COLUMNS_SQL: Dialect = Dialect {
    postgres: "SELECT column_name::text AS name, data_type::text AS declared,
                      is_nullable = 'NO' AS not_null
                 FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name = $1",
    sqlite: "SELECT name, type AS declared, \"notnull\" = 1 AS not_null FROM pragma_table_info($1)",
};

const PRIMARY_KEY_SQL: Dialect = Dialect {
    postgres: "SELECT a.attname::text AS name
                 FROM pg_index i
                 JOIN unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) ON true
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE i.indrelid = ('public.' || $1)::regclass AND i.indisprimary
                ORDER BY k.ord",
    sqlite: "SELECT name FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk",
};

/// The unique keys other than the primary key, with their columns in key order.
const UNIQUE_KEYS_SQL: Dialect = Dialect {
    postgres: "SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) AS columns,
                      i.indpred IS NOT NULL AS partial
                 FROM pg_index i
                 JOIN unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) ON true
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE i.indrelid = ('public.' || $1)::regclass
                  AND i.indisunique AND NOT i.indisprimary
                GROUP BY i.indexrelid, i.indpred",
    sqlite: "SELECT (SELECT group_concat(name, ',')
                       FROM (SELECT name FROM pragma_index_info(l.name) ORDER BY seqno)) AS columns,
                    l.partial = 1 AS partial
               FROM pragma_index_list($1) AS l
              WHERE l.\"unique\" = 1 AND l.origin <> 'pk'",
};

async fn rows(store: &Store, sql: Dialect, binds: &[&str]) -> Vec<portable::Row> {
    let (sql, pool) = match store.reader() {
        pool @ Pool::Postgres(_) => (sql.postgres, pool),
        pool @ Pool::Sqlite(_) => (sql.sqlite, pool),
    };
    binds
        .iter()
        .fold(portable::query(sql), |query, value| query.bind(*value))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn primary_key(store: &Store, table: &str) -> Vec<String> {
    let rows = rows(store, PRIMARY_KEY_SQL, &[table]).await;
    rows.iter().map(|row| row.get("name")).collect()
}

async fn unique_keys(store: &Store, table: &str) -> Vec<Key> {
    let rows = rows(store, UNIQUE_KEYS_SQL, &[table]).await;
    rows.iter()
        .map(|row| Key {
            table: table.to_owned(),
            primary: false,
            columns: row.get("columns"),
            partial: row.get("partial"),
        })
        .collect()
}
