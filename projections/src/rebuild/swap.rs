//! A rebuild: replay into a scratch database, copy its rows into shadow tables in the live
//! database while queries keep reading the old tables, then swap in one transaction: replace the
//! old tables by the shadows, apply the few events the live worker committed meanwhile, and set
//! the checkpoint. A live batch either commits before the swap (the swap then includes it) or
//! fails its compare-and-set after it and reloads from the new checkpoint: nothing is skipped or
//! applied twice.

use std::sync::Arc;

use application::event_log::{EventLog, LogCursor};
use infrastructure::changes::Change;
use infrastructure::Store;

use super::copy;
use super::read_model::ReadModelProjector;
use super::scratch::{ReplayProgress, Scratch};
use super::table::{self, quoted, TableShape};
use infrastructure::consumers::checkpoint;
use infrastructure::consumers::lease::Lease;
use infrastructure::consumers::ProjectionError;
use infrastructure::consumers::{listened, Projector};
use infrastructure::portable::{query, Tx};

/// Rows per copy transaction: short transactions, so SQLite's one writer is never held long.
const COPY_CHUNK: usize = 5000;
/// Swaps attempted before giving up when the database asks for a retry (a deadlock with a
/// live batch on Postgres, SQLite busy).
const SWAP_ATTEMPTS: usize = 5;
/// Events per catch-up batch inside the swap.
const CATCH_UP_BATCH: u32 = 500;

/// The name of `table`'s shadow while a rebuild fills it.
pub fn shadow_name(table: &str) -> String {
    format!("{table}__shadow")
}

/// One rebuild of one read model, holding the claim that no other rebuild of it runs.
pub struct Rebuild {
    store: Arc<Store>,
    model: ReadModelProjector,
    lease: Lease,
}

/// A rebuild whose shadow tables are filled, ready to swap in.
pub struct PreparedRebuild {
    rebuild: Rebuild,
    /// The cursor the replay reached: what the shadow tables hold.
    replayed: LogCursor,
}

impl Rebuild {
    /// Claims the rebuild of `model`; [`ProjectionError::RebuildRunning`] if another process or
    /// task rebuilds it now.
    pub async fn claim(
        store: Arc<Store>,
        model: ReadModelProjector,
    ) -> Result<Rebuild, ProjectionError> {
        let mut lease = Lease::for_rebuild(&store, model.name());
        if !lease.try_acquire().await? {
            return Err(ProjectionError::RebuildRunning(model.name().to_owned()));
        }
        Ok(Self {
            store,
            model,
            lease,
        })
    }

    /// Replays the log up to its current head and fills the shadow tables. Queries still read
    /// the old tables, and the live worker keeps applying new events to them.
    pub async fn prepare(
        self,
        progress: &(dyn Fn(ReplayProgress) + Send + Sync),
    ) -> Result<PreparedRebuild, ProjectionError> {
        let mut prepared = Self::prepare_all(vec![self], progress).await?;
        Ok(prepared.remove(0))
    }

    /// [`Rebuild::prepare`] for several read models of one store, reading the log once for all
    /// of them. Each is then swapped on its own.
    pub async fn prepare_all(
        rebuilds: Vec<Rebuild>,
        progress: &(dyn Fn(ReplayProgress) + Send + Sync),
    ) -> Result<Vec<PreparedRebuild>, ProjectionError> {
        let Some(first) = rebuilds.first() else {
            return Ok(Vec::new());
        };
        let store = first.store.clone();
        let head = store.log_head().await?;
        let fresh = rebuilds
            .iter()
            .map(|rebuild| rebuild.model.fresh())
            .collect();
        let mut scratch = Scratch::new(fresh).await?;
        progress(ReplayProgress {
            reached: 0,
            target: head.cursor.position,
        });
        scratch.replay_to(&store, head.cursor, progress).await?;
        for (index, rebuild) in rebuilds.iter().enumerate() {
            rebuild.fill_shadows(&scratch, index).await?;
        }
        let replayed = scratch.cursor();
        Ok(rebuilds
            .into_iter()
            .map(|rebuild| PreparedRebuild { rebuild, replayed })
            .collect())
    }

    /// Copies model `index` of `scratch` into fresh shadow tables.
    async fn fill_shadows(&self, scratch: &Scratch, index: usize) -> Result<(), ProjectionError> {
        for name in self.model.tables() {
            let shape = self.live_shape(name).await?;
            self.create_shadow(name).await?;
            let shadow = quoted(&shadow_name(name));
            let columns = shape.column_list();
            scratch
                .copy_rows(index, &shape, COPY_CHUNK, |rows| {
                    let (shadow, columns) = (&shadow, &columns);
                    async move {
                        let mut tx = Tx::begin(&self.store).await?;
                        copy::insert_rows(&mut tx, shadow, columns, rows).await?;
                        tx.commit().await?;
                        Ok(())
                    }
                })
                .await?;
        }
        Ok(())
    }

    /// Prepares and swaps.
    pub async fn run(
        self,
        progress: &(dyn Fn(ReplayProgress) + Send + Sync),
    ) -> Result<LogCursor, ProjectionError> {
        self.prepare(progress).await?.swap().await
    }

    async fn live_shape(&self, name: &str) -> Result<TableShape, ProjectionError> {
        let mut tx = Tx::begin_snapshot(&self.store).await?;
        let shape = table::shape(&mut tx, name).await;
        tx.rollback().await?;
        shape
    }

    /// An empty table shaped like `name` (columns, constraints, indexes), replacing any left
    /// over from an interrupted rebuild.
    async fn create_shadow(&self, name: &str) -> Result<(), ProjectionError> {
        let shadow = quoted(&shadow_name(name));
        let mut tx = Tx::begin(&self.store).await?;
        query(&format!("DROP TABLE IF EXISTS {shadow}"))
            .execute(&mut tx)
            .await?;
        let create = match &tx {
            Tx::Postgres(_) => {
                format!(
                    "CREATE TABLE {shadow} (LIKE {} INCLUDING ALL)",
                    quoted(name)
                )
            }
            Tx::Sqlite(_) => {
                // The table's own definition, renamed; its separate indexes are recreated at
                // the swap (SQLite index names are global).
                let definition = sqlite_definition(&mut tx, "table", name).await?;
                let columns = definition
                    .first()
                    .and_then(|sql| sql.find('(').map(|at| sql[at..].to_owned()))
                    .ok_or_else(|| ProjectionError::TableShape {
                        table: name.to_owned(),
                        reason: "it does not exist".into(),
                    })?;
                format!("CREATE TABLE {shadow} {columns}")
            }
        };
        query(&create).execute(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl PreparedRebuild {
    /// The read model this rebuild replaces.
    pub fn name(&self) -> &'static str {
        self.rebuild.model.name()
    }

    /// Swaps the shadow tables in and returns the checkpoint the rebuilt read model stands at.
    pub async fn swap(self) -> Result<LogCursor, ProjectionError> {
        let mut attempt = 1;
        let outcome = loop {
            match self.swap_once().await {
                Err(error) if error.is_transient() && attempt < SWAP_ATTEMPTS => {
                    tracing::warn!(projection = self.rebuild.model.name(), %error, "swap retried");
                    attempt += 1;
                }
                outcome => break outcome,
            }
        };
        let mut lease = self.rebuild.lease;
        lease.release().await;
        outcome
    }

    async fn swap_once(&self) -> Result<LogCursor, ProjectionError> {
        let mut tx = Tx::begin(&self.rebuild.store).await?;
        match self.swap_in(&mut tx).await {
            Ok(at) => {
                // Every row may have changed: caches of the read model start over.
                let change = self.rebuild.model.change_topic().map(Change::all);
                tx.commit_announcing(&self.rebuild.store, change).await?;
                Ok(at)
            }
            Err(error) => {
                let _ = tx.rollback().await;
                Err(error)
            }
        }
    }

    async fn swap_in(&self, tx: &mut Tx) -> Result<LogCursor, ProjectionError> {
        let Rebuild { store, model, .. } = &self.rebuild;
        let tables = model.tables();
        if matches!(tx, Tx::Postgres(_)) {
            // Waits for a live batch that touched them to commit; the live worker cannot start
            // another on them (or move the checkpoint, locked next) until this commits.
            let list: Vec<String> = tables.iter().map(|name| quoted(name)).collect();
            let lock = format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", list.join(", "));
            query(&lock).execute(&mut *tx).await?;
        }
        let live = checkpoint::load_in(tx, model.name(), true).await?;
        for name in tables {
            replace_with_shadow(tx, name).await?;
        }
        // Events the live worker applied to the old tables after the replay's head: apply
        // them to the new ones here, so the read model never goes back in time.
        let projector = model.fresh();
        let mut cursor = self.replayed;
        while cursor < live {
            let mut batch = store.read_after(cursor, CATCH_UP_BATCH).await?;
            batch.retain(|(at, _)| *at <= live);
            let Some(to) = batch.last().map(|(at, _)| *at) else {
                break;
            };
            let events = listened(&projector, batch);
            if !events.is_empty() {
                projector.apply_batch(tx, &events).await?;
            }
            cursor = to;
        }
        checkpoint::reset(tx, model.name(), cursor).await?;
        Ok(cursor)
    }
}

/// Drops `name` and renames its shadow to it, keeping the index names migrations know.
async fn replace_with_shadow(tx: &mut Tx, name: &str) -> Result<(), ProjectionError> {
    let shadow = shadow_name(name);
    match tx {
        Tx::Postgres(_) => {
            let old = postgres_indexes(tx, name).await?;
            let new = postgres_indexes(tx, &shadow).await?;
            drop_and_rename(tx, name, &shadow).await?;
            for (new_name, definition) in new {
                let original = old
                    .iter()
                    .find(|(_, old_definition)| old_definition == &definition);
                if let Some((old_name, _)) = original {
                    query(&format!(
                        "ALTER INDEX {} RENAME TO {}",
                        quoted(&new_name),
                        quoted(old_name)
                    ))
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        Tx::Sqlite(_) => {
            let indexes = sqlite_definition(tx, "index", name).await?;
            drop_and_rename(tx, name, &shadow).await?;
            for index in indexes {
                query(&index).execute(&mut *tx).await?;
            }
        }
    }
    Ok(())
}

async fn drop_and_rename(tx: &mut Tx, name: &str, shadow: &str) -> Result<(), ProjectionError> {
    query(&format!("DROP TABLE {}", quoted(name)))
        .execute(&mut *tx)
        .await?;
    query(&format!(
        "ALTER TABLE {} RENAME TO {}",
        quoted(shadow),
        quoted(name)
    ))
    .execute(tx)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct IndexRow {
    name: String,
    definition: String,
}

/// `table`'s indexes: name, and the definition without the index and table names (uniqueness,
/// method and columns), which is how a shadow's index is matched to the one it replaces.
async fn postgres_indexes(
    tx: &mut Tx,
    table: &str,
) -> Result<Vec<(String, String)>, ProjectionError> {
    let rows: Vec<IndexRow> = query(
        "SELECT indexname::text AS name, indexdef AS definition FROM pg_indexes
          WHERE schemaname = current_schema() AND tablename = $1",
    )
    .bind(table)
    .fetch_all_as(tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let unique = row.definition.starts_with("CREATE UNIQUE");
            let rest = row
                .definition
                .split_once(" USING ")
                .map_or(String::new(), |(_, rest)| rest.to_owned());
            (row.name, format!("{unique} {rest}"))
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct Definition {
    sql: String,
}

/// The stored SQL of the `kind` ("table" or "index") objects of `table` on SQLite.
async fn sqlite_definition(
    tx: &mut Tx,
    kind: &str,
    table: &str,
) -> Result<Vec<String>, ProjectionError> {
    let rows: Vec<Definition> = query(
        "SELECT sql FROM sqlite_master WHERE type = $1 AND tbl_name = $2 AND sql IS NOT NULL",
    )
    .bind(kind)
    .bind(table)
    .fetch_all_as(tx)
    .await?;
    Ok(rows.into_iter().map(|row| row.sql).collect())
}
