//! The fake Stripe as a process, for the crash test with `--payment-gateway stripe`
//! (`scripts/crash-test --gateway stripe`): it serves on a free loopback port, prints
//! `listening on http://…` once, and runs until it is killed. `GET /_fake/payment_intents`
//! lists every PaymentIntent it created, for the harness's checks.

use blackbox_tests::fake_stripe::FakeStripe;

fn main() {
    let fake = FakeStripe::start();
    println!("listening on {}", fake.base_url);
    loop {
        std::thread::park();
    }
}
