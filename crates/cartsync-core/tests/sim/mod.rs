//! A deterministic simulation of cartsync clients against the authority.
//! One seed decides everything: how many clients and tabs, what shoppers
//! do, what the network loses, duplicates and reorders, when tabs reload,
//! when a service worker flushes, and when the authority restarts.

pub mod authority;
mod check;
mod trace;
pub mod worker;
pub mod world;

use authority::{Authority, Reply};
use cartsync_core::engine::{
    mutation_key, Config, Engine, StorageChange, StoredMutation, TokenRecord, CHECKOUT_KEY, MUTATION_KEY_PREFIX,
    USER_KEY,
};
use cartsync_core::{Command, Mutation, Options, Random, Sku, SplitMix64};
use std::collections::{BTreeMap, BTreeSet};
use world::{Addr, Client, Ev, Net, Tab, Value, Watch, World, CALM};

/// What one run did, for the summary line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub issued: usize,
    pub applied: usize,
    pub rejected: usize,
    pub conflicts: usize,
    pub replaced: usize,
    pub unstored: usize,
    pub flushed: usize,
    pub ordered: usize,
    pub signed_in: usize,
    pub worker_flushes: usize,
    pub worker_acked: usize,
    pub steps: usize,
}

impl Stats {
    pub fn add(&mut self, s: &Stats) {
        self.issued += s.issued;
        self.applied += s.applied;
        self.rejected += s.rejected;
        self.conflicts += s.conflicts;
        self.replaced += s.replaced;
        self.unstored += s.unstored;
        self.flushed += s.flushed;
        self.ordered += s.ordered;
        self.signed_in += s.signed_in;
        self.worker_flushes += s.worker_flushes;
        self.worker_acked += s.worker_acked;
        self.steps += s.steps;
    }
}

/// Runs one seed; `Err` says what went wrong.
pub fn run(seed: u64) -> Result<Stats, String> {
    run_world(build(seed, false))
}

/// Runs one seed and appends its trace to `trace`.
pub fn run_traced(seed: u64, trace: &mut Vec<String>) -> Result<Stats, String> {
    let mut w = build(seed, true);
    let result = run_world_ref(&mut w);
    trace.extend(w.trace.take().unwrap_or_default());
    result
}

fn run_world(mut w: World) -> Result<Stats, String> {
    run_world_ref(&mut w)
}

fn run_world_ref(w: &mut World) -> Result<Stats, String> {
    let chaos_steps = 40 + w.below(120) as usize;
    for _ in 0..chaos_steps {
        chaos_step(w);
        if let Some(v) = &w.violation {
            return Err(v.clone());
        }
    }
    heal(w)?;
    if let Some(v) = &w.violation {
        return Err(v.clone());
    }
    check::all(w)
}

fn build(seed: u64, trace: bool) -> World {
    let mut rng = SplitMix64(seed);
    let n_clients = 1 + (rng.next_u64() % 3) as usize;
    let net = Net {
        drop: rng.next_u64() % 250,
        dup: rng.next_u64() % 150,
        fail: rng.next_u64() % 100,
        max_delay: 1 + rng.next_u64() % 3_000,
        storage_delay: 1 + rng.next_u64() % 2_000,
    };
    let mut w = World {
        rng,
        now: 1_000_000,
        queue: BTreeMap::new(),
        seq: 0,
        clients: Vec::new(),
        authority: Authority::default(),
        epoch: 0,
        net,
        next_incarnation: 0,
        config: Config::default(),
        issued: Vec::new(),
        unstored: BTreeSet::new(),
        refused: BTreeSet::new(),
        acked: BTreeSet::new(),
        tombstoned: BTreeSet::new(),
        trace: trace.then(Vec::new),
        violation: None,
        conflicts: 0,
        replaced: 0,
        ops: BTreeMap::new(),
        flushed: 0,
        ordered: 0,
        signed_in: 0,
        worker_flushes: 0,
        worker_acked: 0,
    };
    // Some clients share an account cart (the same shopper on two devices,
    // signed in), which is where version conflicts come from.
    let shared = w.chance(600).then(|| w.authority.create_account(ACCOUNT, 1_000_000));
    // Small batches make one outbox take several requests.
    w.config.limits.max_batch = [1, 2, 3, 100][w.below(4) as usize];
    for c in 0..n_clients {
        let mut storage = BTreeMap::new();
        let mut account = None;
        if let Some(token) = &shared {
            if c < 2 {
                let record = TokenRecord {
                    token: Some(token.clone()),
                    generation: 1,
                    merged: false,
                };
                storage.insert(cartsync_core::engine::TOKEN_KEY.to_string(), Value::Token(record));
                storage.insert(USER_KEY.to_string(), Value::User(ACCOUNT.into()));
                account = Some(ACCOUNT.to_string());
            }
        }
        let rng = SplitMix64(w.rng.next_u64());
        // A third of the browsers have no Web Locks: their tabs lead by the
        // storage lease.
        let locks = !w.chance(333);
        w.clients.push(Client {
            storage,
            tabs: vec![None, None, None],
            leader: None,
            locks,
            online: true,
            full: false,
            account,
            rng,
            stored_newest: None,
            copy: worker::Copy::default(),
        });
        let n_tabs = 1 + w.below(3) as usize;
        for t in 0..n_tabs {
            open_tab(&mut w, c, t);
        }
    }
    let locks: Vec<bool> = w.clients.iter().map(|c| c.locks).collect();
    w.log(|| format!("seed {seed}: {n_clients} clients (web locks {locks:?}), shared {shared:?}, {net:?}"));
    w
}

/// The account the shared cart belongs to.
const ACCOUNT: &str = "acct";

/// Opens (or re-opens) a tab: a fresh engine restored from storage; it
/// takes the flush lock if nobody holds it.
fn open_tab(w: &mut World, client: usize, slot: usize) {
    w.next_incarnation += 1;
    let incarnation = w.next_incarnation;
    let persisted = w.read_storage(client);
    let (engine, actions) = Engine::restore(w.config.clone(), persisted, w.now);
    w.clients[client].tabs[slot] = Some(Tab {
        engine,
        incarnation,
        timer: None,
        lease_timer: None,
        storage_clock: 0,
        newest: None,
    });
    let a = Addr {
        client,
        tab: slot,
        incarnation,
    };
    w.log(|| format!("c{client}t{slot} opens"));
    w.carry_out(a, actions);
    let online = w.clients[client].online;
    w.call(a, |e, _, now| e.set_online(online, now));
    // What the worker settled is taken in before the tab may lead.
    worker::absorb(w, a);
    worker::copy_all(w, client);
    if !w.clients[client].locks {
        let lease = w.stored_lease(client);
        let tab_id = format!("tab-{incarnation}");
        w.call(a, |e, _, now| e.use_lease(tab_id, lease, now));
    } else if w.clients[client].leader.is_none() {
        take_lead(w, a);
    }
}

fn take_lead(w: &mut World, a: Addr) {
    w.clients[a.client].leader = Some(a.tab);
    w.log(|| format!("c{}t{} gets the lock", a.client, a.tab));
    // The engine reads the worker's copy, then asks to lead.
    w.call(a, |e, _, _| e.lock_granted());
}

/// Closes a tab: gracefully (`close()`, which gives a lease up) or not
/// (a crash: its engine is simply gone). The lock passes on.
fn close_tab(w: &mut World, client: usize, slot: usize) {
    if w.chance(500) {
        if let Some(a) = w.open_tabs(client).into_iter().find(|a| a.tab == slot) {
            w.call(a, |e, _, now| e.close(now));
        }
    } else {
        worker::crash(w, client, slot);
    }
    if let Some(tab) = &w.clients[client].tabs[slot] {
        let incarnation = tab.incarnation;
        // Its operations die with it.
        w.ops
            .retain(|(a, _), _| !(a.client == client && a.incarnation == incarnation));
    }
    w.clients[client].tabs[slot] = None;
    w.log(|| format!("c{client}t{slot} closes"));
    if w.clients[client].leader == Some(slot) {
        w.clients[client].leader = None;
        pass_lead(w, client);
    }
}

pub(crate) fn pass_lead(w: &mut World, client: usize) {
    let open = w.open_tabs(client);
    if !open.is_empty() {
        let next = open[w.below(open.len() as u64) as usize];
        take_lead(w, next);
    }
}

/// A random open tab of a random client (none if that client has none).
fn random_tab(w: &mut World) -> Option<Addr> {
    let client = w.below(w.clients.len() as u64) as usize;
    let open = w.open_tabs(client);
    if open.is_empty() {
        return None;
    }
    Some(open[w.below(open.len() as u64) as usize])
}

fn random_command(w: &mut World) -> Command {
    const SKUS: [&str; 5] = ["a", "b", "c", "ghost", "a"];
    let sku = Sku::new(SKUS[w.below(5) as usize]);
    let mut options = Options::new();
    if w.chance(250) {
        options.insert("size".into(), "M".into());
    }
    match w.below(20) {
        0..=6 => Command::AddItem {
            sku,
            quantity: 1 + w.below(3) as i64,
            options,
        },
        7..=10 => Command::SetQuantity {
            sku,
            options,
            quantity: w.below(4) as i64,
        },
        11..=12 => Command::RemoveItem { sku, options },
        13 => Command::ApplyCoupon {
            code: ["save10", "FREE"][w.below(2) as usize].into(),
        },
        14 => Command::RemoveCoupon { code: "SAVE10".into() },
        15 => Command::SelectShipping {
            option: ["std", "express", "drone"][w.below(3) as usize].into(),
        },
        16 => match w.below(4) {
            0 => Command::Clear {},
            n => {
                let (country, postal_code) = [("DE", "10115"), ("FR", "75001"), ("US", "94105")][n as usize - 1];
                Command::SetDestination {
                    country: country.into(),
                    postal_code: postal_code.into(),
                }
            }
        },
        // Invalid locally: refused before anything is persisted.
        17 => Command::add("a", 0),
        18 => Command::add("no spaces", 1),
        _ => Command::set("b", 1_000),
    }
}

fn user_command(w: &mut World) {
    let Some(a) = random_tab(w) else { return };
    let client = a.client;
    let command = random_command(w);
    let before = w.clients[client].storage.clone();
    let now = w.now;
    let client_state = &mut w.clients[client];
    let Some(tab) = client_state.tabs[a.tab].as_mut() else {
        return;
    };
    let issued = tab.engine.issue(command.clone(), now, &mut client_state.rng);
    let pending_before = tab.engine.pending().len();
    match issued {
        Ok(record) if client_state.full => {
            // The record's write is refused: the command must not count.
            let id = record.mutation.id;
            tab.engine.not_stored(id);
            let still = tab.engine.pending().len();
            w.unstored.insert(id);
            w.log(|| format!("c{client}t{} storage full: {command:?} not stored", a.tab));
            if still != pending_before {
                w.violated(|| format!("c{client}: an unstored command counted"));
            }
        }
        Ok(record) => {
            let id = record.mutation.id;
            w.issued.push((client, id));
            w.log(|| format!("c{client}t{} issues {command:?}", a.tab));
            let key = mutation_key(&id);
            w.write(
                a,
                key,
                Some(Value::Mutation(record.clone())),
                StorageChange::MutationAdded(record),
            );
            w.call(a, |e, _, now| e.stored(id, now));
        }
        Err(e) => {
            w.log(|| format!("c{client}t{} refused locally {}", a.tab, e.code()));
            assert_eq!(
                before, w.clients[client].storage,
                "a refused command persisted something"
            );
        }
    }
}

/// A tab starts an operation a caller awaits: a flush or a checkout.
fn start_op(w: &mut World) {
    let Some(a) = random_tab(w) else { return };
    let checkout = w.chance(300);
    let Some(tab) = w.tab(a) else { return };
    let pending: Vec<_> = tab.engine.pending().iter().map(|r| r.mutation.id).collect();
    let client_state = &mut w.clients[a.client];
    let Some(tab) = client_state.tabs[a.tab].as_mut() else {
        return;
    };
    let now = w.now;
    let (op, actions) = if checkout {
        tab.engine.checkout(None, now, &mut client_state.rng)
    } else {
        tab.engine.flush(now)
    };
    let watch = if checkout {
        Watch::Checkout
    } else {
        Watch::Flush { pending }
    };
    w.log(|| format!("c{}t{} starts {op:?} {watch:?}", a.client, a.tab));
    w.ops.insert((a, op), watch);
    w.carry_out(a, actions);
}

/// A guest signs in (the cart is merged into the account's: the shared
/// account for a client that shares it or, now and then, for another
/// client; else the client's own), or a signed-in shopper signs out (a new
/// anonymous cart; the account cart stays the account's).
fn sign_in_or_out(w: &mut World) {
    let Some(a) = random_tab(w) else { return };
    let client = a.client;
    let signed_in = w.clients[client].storage.contains_key(USER_KEY);
    let now = w.now;
    let (op, actions, watch) = if signed_in {
        let Some(tab) = w.tab(a) else { return };
        let (op, actions) = tab.engine.logout(now);
        (op, actions, Watch::Logout)
    } else {
        let user = match w.clients[client].account.clone() {
            Some(user) => user,
            None if w.chance(300) => ACCOUNT.to_string(),
            None => format!("user-{client}"),
        };
        // From now on the shopper has this account (heal signs it in).
        w.clients[client].account = Some(user.clone());
        let Some(tab) = w.tab(a) else { return };
        let (op, actions) = tab.engine.login(user.clone(), now);
        (op, actions, Watch::Login(user))
    };
    w.log(|| format!("c{}t{} starts {op:?} {watch:?}", a.client, a.tab));
    w.ops.insert((a, op), watch);
    w.carry_out(a, actions);
}

/// A client whose cart was merged at a sign-in whose answer never came
/// (every resend lost, or its tab closed) waits for a new sign-in
/// (`cart_merged`, told to every tab through the token record): the
/// shopper signs in again. Whether a sign-in started.
fn sign_in_again(w: &mut World) -> bool {
    let mut started = false;
    for client in 0..w.clients.len() {
        let Some(user) = w.clients[client].account.clone() else {
            continue;
        };
        let Some(Value::Token(TokenRecord { token: Some(token), .. })) =
            w.clients[client].storage.get(cartsync_core::engine::TOKEN_KEY)
        else {
            continue;
        };
        let merged = w.authority.carts.get(token).is_some_and(|c| c.merged_into.is_some());
        let signing_in = w
            .ops
            .iter()
            .any(|((a, _), watch)| a.client == client && matches!(watch, Watch::Login(_)));
        let Some(a) = w.open_tabs(client).first().copied() else {
            continue;
        };
        if merged && !signing_in {
            let now = w.now;
            let Some(tab) = w.tab(a) else { continue };
            let (op, actions) = tab.engine.login(user.clone(), now);
            w.log(|| format!("c{}t{} signs in again {op:?}", a.client, a.tab));
            w.ops.insert((a, op), Watch::Login(user));
            w.carry_out(a, actions);
            started = true;
        }
    }
    started
}

/// The shopper's session lapses in one tab (signed out everywhere), or a
/// tab signs back in: every tab of the client learns through storage.
fn toggle_user(w: &mut World) {
    let client = w.below(w.clients.len() as u64) as usize;
    let Some(account) = w.clients[client].account.clone() else {
        return;
    };
    let open = w.open_tabs(client);
    if open.is_empty() {
        return;
    }
    let a = open[w.below(open.len() as u64) as usize];
    let signed_in = w.clients[client].storage.contains_key(USER_KEY);
    let user = (!signed_in).then_some(account);
    w.log(|| format!("c{client}t{} sets the user {user:?}", a.tab));
    w.call(a, |e, _, now| e.set_user(user, now));
}

fn chaos_step(w: &mut World) {
    worker::run_microtasks(w);
    let roll = w.below(1000);
    w.now += w.below(200);
    match roll {
        0..=449 => {
            deliver_next(w);
        }
        450..=699 => user_command(w),
        700..=779 => {
            let jump = w.below(20_000);
            w.now += jump;
            deliver_due(w);
        }
        780..=819 => {
            // Reload: the engine is dropped and restored from storage.
            let client = w.below(w.clients.len() as u64) as usize;
            let slot = w.below(3) as usize;
            if w.clients[client].tabs[slot].is_some() {
                close_tab(w, client, slot);
            }
            open_tab(w, client, slot);
        }
        820..=849 => {
            let client = w.below(w.clients.len() as u64) as usize;
            let slot = w.below(3) as usize;
            if w.clients[client].tabs[slot].is_some() {
                close_tab(w, client, slot);
            }
        }
        850..=889 => {
            let client = w.below(w.clients.len() as u64) as usize;
            let online = !w.clients[client].online;
            set_online(w, client, online);
        }
        890..=909 => {
            // The leader steps down without closing (the lock is released).
            let client = w.below(w.clients.len() as u64) as usize;
            let holder = w.clients[client].leader.filter(|s| *s != worker::WORKER);
            if let Some(slot) = holder.filter(|_| w.clients[client].locks) {
                w.clients[client].leader = None;
                let open = w.open_tabs(client);
                if let Some(a) = open.into_iter().find(|a| a.tab == slot) {
                    w.log(|| format!("c{client}t{slot} steps down"));
                    w.call(a, |e, _, now| e.leadership_lost(now));
                }
                pass_lead(w, client);
            }
        }
        910..=919 => {
            w.epoch += 1;
            w.log(|| "authority restarts".into());
        }
        920..=929 => start_op(w),
        930..=932 => {
            let client = w.below(w.clients.len() as u64) as usize;
            let full = !w.clients[client].full;
            w.clients[client].full = full;
            w.log(|| format!("c{client} storage full={full}"));
        }
        933..=936 => toggle_user(w),
        937..=939 => {
            // A checkout elsewhere closes a cart.
            let open: Vec<String> = w
                .authority
                .carts
                .iter()
                .filter(|(_, c)| !c.closed)
                .map(|(t, _)| t.clone())
                .collect();
            if !open.is_empty() {
                let token = open[w.below(open.len() as u64) as usize].clone();
                w.log(|| format!("checkout closes {token}"));
                if let Some(c) = w.authority.carts.get_mut(&token) {
                    c.closed = true;
                }
            }
        }
        940..=959 => {
            // The service worker starts (or a page asks it to flush).
            let client = w.below(w.clients.len() as u64) as usize;
            worker::start(w, client);
        }
        960..=969 => sign_in_or_out(w),
        _ => {
            let client = w.below(w.clients.len() as u64) as usize;
            for a in leaders(w, client) {
                w.call(a, |e, _, now| e.refresh(now));
            }
        }
    }
}

/// The tabs that lead: the Web Lock holder, or the tabs whose engines hold
/// the lease.
fn leaders(w: &mut World, client: usize) -> Vec<Addr> {
    let locks = w.clients[client].locks;
    let holder = w.clients[client].leader;
    w.open_tabs(client)
        .into_iter()
        .filter(|a| match (locks, w.tab(*a)) {
            (true, _) => holder == Some(a.tab),
            (false, Some(tab)) => tab.engine.is_leader(),
            (false, None) => false,
        })
        .collect()
}

fn set_online(w: &mut World, client: usize, online: bool) {
    w.clients[client].online = online;
    w.log(|| format!("c{client} online={online}"));
    for a in w.open_tabs(client) {
        w.call(a, |e, _, now| e.set_online(online, now));
    }
}

/// Delivers every event due by now.
fn deliver_due(w: &mut World) {
    while w.queue.first_key_value().is_some_and(|(k, _)| k.0 <= w.now) {
        deliver_next(w);
    }
}

fn deliver_next(w: &mut World) -> bool {
    worker::run_microtasks(w);
    let Some(((at, _), ev)) = w.queue.pop_first() else {
        return false;
    };
    w.now = w.now.max(at);
    match ev {
        Ev::ToTab { to, epoch, id, reply } if to.tab == worker::WORKER => {
            if epoch == w.epoch {
                worker::answered(w, to, id, reply);
            }
        }
        Ev::WorkerTimeout {
            client,
            incarnation,
            id,
        } => {
            let to = Addr {
                client,
                tab: worker::WORKER,
                incarnation,
            };
            let failure = cartsync_core::engine::Failure::Transient {
                retry_after_ms: None,
                error: cartsync_core::engine::network_error(),
            };
            worker::answered(w, to, id, Reply::Failed(failure));
        }
        Ev::WorkerStart { client } => {
            if w.clients[client].online {
                worker::start(w, client);
            } else {
                // Background Sync waits for the network.
                let at = w.now + 5_000 + w.below(20_000);
                w.push(at, Ev::WorkerStart { client });
            }
        }
        Ev::WorkerAnnounced { to } => {
            if w.tab(to).is_some() {
                worker::absorb(w, to);
            }
        }
        Ev::ToAuthority { from, epoch, request } => w.serve(from, epoch, request),
        Ev::ToTab { to, epoch, id, reply } => {
            if epoch == w.epoch {
                w.log(|| {
                    format!(
                        "c{}t{} gets r{}: {}",
                        to.client,
                        to.tab,
                        id.0,
                        trace::short_reply(&reply)
                    )
                });
                match reply {
                    Reply::Answer(r) => w.call(to, |e, rng, now| e.on_response(id, *r, now, rng)),
                    Reply::Failed(f) => w.call(to, |e, rng, now| e.on_failure(id, f, now, rng)),
                }
            }
        }
        Ev::Storage { to, change } => deliver_storage(w, to, change),
        Ev::Timer { to, at } => {
            if w.tab(to).is_some_and(|t| t.timer == Some(at)) {
                w.call(to, |e, rng, now| e.on_timer(now, rng));
            }
        }
        Ev::LeaseCheck { to, at } => {
            if w.tab(to).is_some_and(|t| t.lease_timer == Some(at)) {
                let lease = w.stored_lease(to.client);
                w.call(to, |e, _, now| e.on_lease(lease, now));
            }
        }
        Ev::LeaseWritten { to } => {
            // Read through, as the binding does.
            let lease = w.stored_lease(to.client);
            w.call(to, |e, _, now| e.on_lease(lease, now));
        }
    }
    true
}

/// Mutation, user and checkout-key events are read through, as the binding
/// does: the key's current value, not the value the event carried. Token and
/// cart events carry their (possibly stale) value, which the engine must
/// tolerate.
fn deliver_storage(w: &mut World, to: Addr, change: StorageChange) {
    w.log(|| {
        format!("c{}t{} storage event {change:?}", to.client, to.tab)
            .chars()
            .take(160)
            .collect()
    });
    let change = match change {
        StorageChange::MutationAdded(StoredMutation {
            mutation: Mutation { id, .. },
            ..
        })
        | StorageChange::MutationRemoved(id) => match w.clients[to.client].storage.get(&mutation_key(&id)) {
            Some(Value::Mutation(now)) => StorageChange::MutationAdded(now.clone()),
            _ => StorageChange::MutationRemoved(id),
        },
        // Unordered records: read through too.
        StorageChange::UserChanged(_) => match w.clients[to.client].storage.get(USER_KEY) {
            Some(Value::User(u)) => StorageChange::UserChanged(Some(u.clone())),
            _ => StorageChange::UserChanged(None),
        },
        StorageChange::CheckoutKeyChanged(_) => match w.clients[to.client].storage.get(CHECKOUT_KEY) {
            Some(Value::Checkout(k)) => StorageChange::CheckoutKeyChanged(Some(k.clone())),
            _ => StorageChange::CheckoutKeyChanged(None),
        },
        other => other,
    };
    w.call(to, |e, _, now| e.on_storage(change, now));
}

/// The network heals, every client comes online with an open leader tab,
/// leaders refresh, and everything runs until nothing is left to do.
fn heal(w: &mut World) -> Result<(), String> {
    w.net = CALM;
    w.log(|| "--- heal ---".into());
    for client in 0..w.clients.len() {
        w.clients[client].full = false;
        if w.open_tabs(client).is_empty() {
            open_tab(w, client, 0);
        }
        if !w.clients[client].online {
            set_online(w, client, true);
        }
        let account = w.clients[client].account.clone();
        if account.is_some() && !w.clients[client].storage.contains_key(USER_KEY) {
            if let Some(a) = w.open_tabs(client).first().copied() {
                w.call(a, |e, _, now| e.set_user(account, now));
            }
        }
    }
    for round in 0..3 {
        // Round 0 delivers what is under way; later rounds first have every
        // leader refresh (a cart may have been closed elsewhere). Once idle,
        // a shopper whose merge's answer was lost signs in again.
        let mut refreshed = round == 0;
        let mut steps = 0;
        loop {
            // Lease checks go on for as long as tabs live: past them, the
            // world is quiet when every client has a leader and nothing is
            // pending anywhere.
            let busy = w.queue.values().any(|ev| !matches!(ev, Ev::LeaseCheck { .. }));
            if !busy && (0..w.clients.len()).all(|c| !leaders(w, c).is_empty()) {
                if !refreshed {
                    refreshed = true;
                    for client in 0..w.clients.len() {
                        for a in leaders(w, client) {
                            w.call(a, |e, _, now| e.refresh(now));
                        }
                    }
                    continue;
                }
                if quiet(w) {
                    break;
                }
                if sign_in_again(w) {
                    continue;
                }
            }
            if !deliver_next(w) {
                break;
            }
            steps += 1;
            if steps > 50_000 {
                let waiting: Vec<String> = w
                    .clients
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let stored = c.storage.keys().filter(|k| k.starts_with(MUTATION_KEY_PREFIX)).count();
                        let pending: Vec<usize> = c.tabs.iter().flatten().map(|t| t.engine.pending().len()).collect();
                        format!("c{i}: {stored} stored, pending {pending:?}, leader {:?}", c.leader)
                    })
                    .collect();
                return Err(format!("did not quiesce (round {round}): {}", waiting.join("; ")));
            }
        }
    }
    Ok(())
}

/// Nothing pending in any storage or tab, no client waiting for a sign-in,
/// and no operation waiting.
fn quiet(w: &World) -> bool {
    w.ops.is_empty()
        && w.clients.iter().all(|c| {
            let waiting = matches!(
                c.storage.get(cartsync_core::engine::TOKEN_KEY),
                Some(Value::Token(TokenRecord { merged: true, .. }))
            );
            !waiting
                && c.copy.run.is_none()
                && !c.storage.keys().any(|k| k.starts_with(MUTATION_KEY_PREFIX))
                && c.tabs.iter().flatten().all(|t| t.engine.pending().is_empty())
        })
}
