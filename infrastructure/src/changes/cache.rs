//! A cache of stored values by key, kept true by the change notices of one topic. A value read
//! from the database is stored only if no notice for its key arrived while it was being read
//! (a [`Ticket`] taken before the read says so); otherwise a read that began before a commit
//! could store what the commit replaced, after the commit's notice was already handled.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::task::JoinHandle;

use super::{ChangeSubscription, Changed, Notice};

/// Keys are spread over this many generation counters; a notice for one key only spoils the
/// tickets of reads of keys in its shard.
const SHARDS: usize = 256;

pub struct NoticedCache<V> {
    topic: &'static str,
    capacity: usize,
    inner: Mutex<Inner<V>>,
}

struct Inner<V> {
    /// False while notices cannot be trusted: nothing is served or stored.
    serving: bool,
    entries: HashMap<String, V>,
    generations: Vec<u64>,
}

/// Taken before reading a key's value from the database; [`NoticedCache::fill`] stores the value
/// only if the key's shard saw no notice since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    shard: usize,
    generation: u64,
}

impl<V: Clone + Send + 'static> NoticedCache<V> {
    /// An empty cache of `topic` holding at most `capacity` values, that serves nothing until
    /// it follows a feed ([`Self::follow`]).
    pub fn new(topic: &'static str, capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            topic,
            capacity,
            inner: Mutex::new(Inner {
                serving: false,
                entries: HashMap::new(),
                generations: vec![0; SHARDS],
            }),
        })
    }

    /// Applies the notices of `subscription` until the feed ends.
    pub fn follow(self: &Arc<Self>, mut subscription: ChangeSubscription) -> JoinHandle<()> {
        let cache = Arc::clone(self);
        tokio::spawn(async move {
            while let Some(notice) = subscription.next().await {
                cache.apply(&notice);
            }
            cache.apply(&Notice::Reset { listening: false });
        })
    }

    /// The cached value of `key`, if any.
    pub fn get(&self, key: &str) -> Option<V> {
        let inner = self.lock();
        inner
            .serving
            .then(|| inner.entries.get(key).cloned())
            .flatten()
    }

    /// A ticket for reading `key` from the database; `None` while the cache does not serve.
    pub fn ticket(&self, key: &str) -> Option<Ticket> {
        let inner = self.lock();
        let shard = shard(key);
        inner.serving.then(|| Ticket {
            shard,
            generation: inner.generations[shard],
        })
    }

    /// Stores `value`, read from the database after `ticket` was taken, unless a notice for its
    /// shard arrived since.
    pub fn fill(&self, key: &str, ticket: Ticket, value: V) {
        let mut inner = self.lock();
        if !inner.serving || inner.generations[ticket.shard] != ticket.generation {
            return;
        }
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(key) {
            // An arbitrary victim: the cache is a shortcut, any entry can be read again.
            if let Some(victim) = inner.entries.keys().next().cloned() {
                inner.entries.remove(&victim);
            }
        }
        inner.entries.insert(key.to_owned(), value);
    }

    /// Applies one notice.
    pub fn apply(&self, notice: &Notice) {
        let mut inner = self.lock();
        match notice {
            Notice::Changed(change) if change.topic == self.topic => match &change.changed {
                Changed::Keys(keys) => {
                    for key in keys {
                        inner.generations[shard(key)] += 1;
                        inner.entries.remove(key);
                    }
                }
                Changed::All => inner.forget_all(),
            },
            Notice::Changed(_) => {}
            Notice::Reset { listening } => {
                inner.forget_all();
                inner.serving = *listening;
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<V>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<V> Inner<V> {
    fn forget_all(&mut self) {
        self.entries.clear();
        for generation in &mut self.generations {
            *generation += 1;
        }
    }
}

fn shard(key: &str) -> usize {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % SHARDS as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::Change;

    fn serving() -> Arc<NoticedCache<i32>> {
        let cache = NoticedCache::new("topic", 2);
        cache.apply(&Notice::Reset { listening: true });
        cache
    }

    fn fill(cache: &NoticedCache<i32>, key: &str, value: i32) {
        let ticket = cache.ticket(key).expect("serving");
        cache.fill(key, ticket, value);
    }

    #[test]
    fn a_filled_value_is_served_until_a_notice_names_its_key() {
        let cache = serving();
        fill(&cache, "a", 1);
        fill(&cache, "b", 2);
        cache.apply(&Notice::Changed(Change::keys("topic", vec!["a".into()])));
        assert_eq!(cache.get("a"), None);
        assert_eq!(cache.get("b"), Some(2));
        cache.apply(&Notice::Changed(Change::all("topic")));
        assert_eq!(cache.get("b"), None);
    }

    #[test]
    fn notices_of_other_topics_change_nothing() {
        let cache = serving();
        fill(&cache, "a", 1);
        cache.apply(&Notice::Changed(Change::keys("other", vec!["a".into()])));
        cache.apply(&Notice::Changed(Change::all("other")));
        assert_eq!(cache.get("a"), Some(1));
    }

    #[test]
    fn a_read_that_overlapped_a_notice_is_not_stored() {
        let cache = serving();
        let ticket = cache.ticket("a").expect("serving");
        // The commit's notice is handled while the read (which may predate the commit) runs.
        cache.apply(&Notice::Changed(Change::keys("topic", vec!["a".into()])));
        cache.fill("a", ticket, 1);
        assert_eq!(cache.get("a"), None);
        let ticket = cache.ticket("a").expect("serving");
        cache.apply(&Notice::Changed(Change::all("topic")));
        cache.fill("a", ticket, 1);
        assert_eq!(cache.get("a"), None);
    }

    #[test]
    fn nothing_is_served_or_stored_while_notices_cannot_be_trusted() {
        let cache = NoticedCache::<i32>::new("topic", 2);
        assert_eq!(cache.ticket("a"), None);
        let cache = serving();
        fill(&cache, "a", 1);
        let ticket = cache.ticket("b").expect("serving");
        cache.apply(&Notice::Reset { listening: false });
        assert_eq!(cache.get("a"), None);
        assert_eq!(cache.ticket("b"), None);
        cache.fill("b", ticket, 2);
        cache.apply(&Notice::Reset { listening: true });
        assert_eq!(
            cache.get("b"),
            None,
            "a read from before the outage is not kept"
        );
    }

    #[test]
    fn the_cache_never_holds_more_than_its_capacity() {
        let cache = serving();
        for (n, key) in ["a", "b", "c", "d"].into_iter().enumerate() {
            fill(&cache, key, n as i32);
        }
        let held = ["a", "b", "c", "d"]
            .iter()
            .filter(|key| cache.get(key).is_some())
            .count();
        assert_eq!(held, 2);
        assert_eq!(cache.get("d"), Some(3), "the newest value is kept");
    }
}
