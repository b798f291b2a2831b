//! Change notices for the in-process caches of stored data (API keys, the Feature Access View).
//! A writer announces which keys of a topic it changed, inside the transaction that changes them:
//! on Postgres with `pg_notify`, delivered to every process at commit; on SQLite, where one
//! process owns the file, through an in-process channel right after the commit. Each process
//! follows the notices with one [`ChangeFeed`]; a cache that cannot trust it (the listener
//! connection dropped, notices were missed) empties itself and refills from the database.

mod cache;
mod feed;

pub use cache::{NoticedCache, Ticket};
pub use feed::{ChangeFeed, ChangeSubscription, Notice};

/// The Postgres channel the notices travel on.
pub const CHANGES_CHANNEL: &str = "ledgerline_changes";

/// Postgres refuses a notification payload of 8,000 bytes or more; a longer list of keys is
/// announced in several notices.
const MAX_PAYLOAD: usize = 7_000;

/// What a committed write changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What kind of data: a cache listens to one topic.
    pub topic: String,
    pub changed: Changed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// These keys (account ids, key digests…).
    Keys(Vec<String>),
    /// Possibly every key (a rebuilt read model, a revoked API key).
    All,
}

impl Change {
    pub fn keys(topic: &str, keys: Vec<String>) -> Self {
        Self {
            topic: topic.to_owned(),
            changed: Changed::Keys(keys),
        }
    }

    pub fn all(topic: &str) -> Self {
        Self {
            topic: topic.to_owned(),
            changed: Changed::All,
        }
    }

    /// The notification payloads that carry this change: `topic` then the keys (or `*`),
    /// separated by spaces; keys never contain one.
    pub fn payloads(&self) -> Vec<String> {
        let Changed::Keys(keys) = &self.changed else {
            return vec![format!("{} *", self.topic)];
        };
        let mut payloads = Vec::new();
        let mut payload = self.topic.clone();
        for key in keys {
            if payload.len() + 1 + key.len() > MAX_PAYLOAD && payload.len() > self.topic.len() {
                payloads.push(std::mem::replace(&mut payload, self.topic.clone()));
            }
            payload.push(' ');
            payload.push_str(key);
        }
        if payload.len() > self.topic.len() {
            payloads.push(payload);
        }
        payloads
    }

    /// The change a payload of [`Self::payloads`] carries; `None` for anything else.
    pub fn parse(payload: &str) -> Option<Self> {
        let mut words = payload.split(' ');
        let topic = words.next().filter(|topic| !topic.is_empty())?;
        let keys: Vec<&str> = words.collect();
        match keys.as_slice() {
            [] => None,
            ["*"] => Some(Self::all(topic)),
            keys => Some(Self::keys(
                topic,
                keys.iter().map(|key| (*key).to_owned()).collect(),
            )),
        }
    }

    /// Announces the change from inside a Postgres transaction: every listening process gets it
    /// when, and only if, the transaction commits.
    pub async fn announce_in(&self, tx: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
        for payload in self.payloads() {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANGES_CHANNEL)
                .bind(payload)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_survives_its_payloads() {
        let change = Change::keys("feature_access", vec!["a".into(), "b-2".into()]);
        let payloads = change.payloads();
        assert_eq!(payloads, ["feature_access a b-2"]);
        assert_eq!(Change::parse(&payloads[0]), Some(change));
        let all = Change::all("api_keys");
        assert_eq!(Change::parse(&all.payloads()[0]), Some(all));
    }

    #[test]
    fn many_keys_are_split_into_payloads_postgres_accepts() {
        let keys: Vec<String> = (0..1_000).map(|n| format!("{n:036}")).collect();
        let payloads = Change::keys("feature_access", keys.clone()).payloads();
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|payload| payload.len() <= MAX_PAYLOAD));
        let carried: Vec<String> = payloads
            .iter()
            .filter_map(|payload| Change::parse(payload))
            .flat_map(|change| match change.changed {
                Changed::Keys(keys) => keys,
                Changed::All => panic!("keys became all"),
            })
            .collect();
        assert_eq!(carried, keys);
    }

    #[test]
    fn payloads_that_are_not_changes_are_ignored() {
        assert_eq!(Change::parse(""), None);
        assert_eq!(Change::parse("feature_access"), None);
        assert_eq!(Change::parse(" a"), None);
    }
}
