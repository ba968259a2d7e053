//! Writes a seed corpus for each target into `fuzz/corpus/<target>/`: the fuzz model's weights
//! in every format, from two seeds, and valid inputs for `predict_flat`.

use nn::prelude::*;
use nn_fuzz::Fuzzed;
use std::path::Path;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("corpus folder");
    std::fs::write(dir.join(name), bytes).expect("seed");
}

fn main() {
    for seed in [1, 2] {
        let model = Fuzzed::boxed_seeded(seed);
        write("raw_bytes", &format!("seed{seed}.nnw"), &model.to_bytes());
        write(
            "safetensors",
            &format!("seed{seed}.safetensors"),
            &model.to_safetensors().expect("safetensors"),
        );
        let h5 = model.to_keras_weights().expect("h5");
        write("keras_weights", &format!("seed{seed}.weights.h5"), &h5);
        write("keras_archive", &format!("seed{seed}.keras"), &stored_zip(&[("model.weights.h5", &h5)]));
    }
    let mut input = vec![0u8, 0, 0, 0];
    for v in (0..6).map(|i| (i % 5) as f32).chain((0..24).map(|i| i as f32 / 8.0 - 1.5)) {
        input.extend_from_slice(&v.to_le_bytes());
    }
    write("predict_flat", "valid", &input);
}

/// A zip archive of uncompressed members, as Keras writes `.keras` files.
fn stored_zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let (mut out, mut directory) = (Vec::new(), Vec::new());
    for (name, data) in members {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let header = |sig: u32, central: bool| {
            let mut h = sig.to_le_bytes().to_vec();
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // version needed
            h.extend_from_slice(&[0, 0, 0, 0]); // flags, method: stored
            h.extend_from_slice(&[0, 0, 0x21, 0]); // time, date
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central {
                h.extend_from_slice(&[0; 10]); // comment, disk, attributes
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend_from_slice(data);
        directory.extend(header(0x0201_4b50, true));
    }
    let start = out.len() as u32;
    let count = members.len() as u16;
    out.extend_from_slice(&directory);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(directory.len() as u32).to_le_bytes());
    out.extend_from_slice(&start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= *byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
