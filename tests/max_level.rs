//! The instruction-set level can be capped, by `NN_MAX_LEVEL` or `cpu::set_max_level`, so that
//! any machine runs every level; capping changes which kernels run, not what a model computes.
//!
//! In a file of its own: the cap is global, and the other test files' threads must not see it
//! move.

use nn::kernels::cpu::{self, Level};
use nn::prelude::*;

sequential! {
    struct Mlp { Input<40>, Dense<64, relu>, Dense<10, softmax> }
}

#[test]
fn a_cap_lowers_the_level_never_raises_it_and_every_level_predicts_alike() {
    let mut model = Mlp::boxed_zeros();
    let w: Vec<f32> = (0..Mlp::PARAMS).map(|i| ((i * 37 % 101) as f32 - 50.0) / 250.0).collect();
    model.load_params(&w).unwrap();
    let x = SVector::<f32, 40>::from_fn(|i, _| (i as f32 * 0.3).sin());
    let best = cpu::set_max_level(Level::Avx512);
    let want = model.predict(&x);
    for max in [Level::Portable, Level::Avx2, Level::Avx512] {
        assert_eq!(cpu::set_max_level(max), best.min(max));
        assert_eq!(cpu::level(), best.min(max));
        assert_eq!(cpu::supports(Level::Avx512), best == Level::Avx512 && max == Level::Avx512);
        let got = model.predict(&x);
        assert!((got - want).amax() < 1e-6, "{max:?}: {got} vs {want}");
    }
    assert_eq!(cpu::set_max_level(Level::Avx512), best);
}

#[test]
fn the_variable_caps_the_level_of_a_fresh_process() {
    let exe = std::env::current_exe().unwrap();
    for (value, cap) in [("avx2", Level::Avx2), ("PORTABLE", Level::Portable)] {
        let out = std::process::Command::new(&exe)
            .args(["--ignored", "--exact", "child_reports_its_level", "--nocapture"])
            .env(cpu::MAX_LEVEL_VAR, value)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{value}: {stdout}");
        let line = stdout.lines().find_map(|l| l.strip_prefix("level: ")).expect("the child's level");
        // Not compared with this process's level: the other test moves it.
        let named = |name: &str| {
            [Level::Portable, Level::Avx2, Level::Avx512].into_iter().find(|l| format!("{l:?}") == name)
        };
        let (capped, best) = line.split_once(" of ").map(|(c, b)| (named(c), named(b))).unwrap();
        assert_eq!(capped, Some(best.unwrap().min(cap)), "{value}: {line}");
    }
}

/// Run by the test above in a child process, with the variable set.
#[test]
#[ignore = "run by the_variable_caps_the_level_of_a_fresh_process"]
fn child_reports_its_level() {
    let capped = cpu::level();
    println!("level: {capped:?} of {:?}", cpu::set_max_level(Level::Avx512));
}
