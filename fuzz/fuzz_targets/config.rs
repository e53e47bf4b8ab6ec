//! Any bytes as a training config (the text of `--config FILE`): the parser and the validation
//! return a config or a typed error. A panic, an abort, a timeout or an out-of-memory fails the
//! run; so does a config accepted by validation whose counts would overflow a run's arithmetic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let Ok(config) = learner::TrainingConfig::from_json(text) else {
        return;
    };
    // What is accepted serialises and parses back to itself.
    let again = learner::TrainingConfig::from_json(&config.to_json()).expect("round trip");
    assert_eq!(again, config);
    if let Ok(valid) = config.validate() {
        // The scheduler of a run of full passes over MNIST (391 batches of 128) builds.
        let batches = valid.iterations_per_epoch.unwrap_or(60_000usize.div_ceil(valid.batch_size));
        let _ = valid.scheduler(batches);
        let _ = valid.sgd();
    }
});
