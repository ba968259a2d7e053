use nn_peers::*;
use tract_onnx::prelude::*;
fn main() -> Res<()> {
    let g = Gru::gru32();
    for batch in [1usize, 64] {
        let x = g.batch(batch);
        let want = g.reference(&x, batch);
        for st in [false, true] {
            let mut m = onnx().model_for_proto_model(&g.onnx(batch))?.into_typed()?;
            if st {
                stateless(&mut m);
            }
            let m = m.into_optimized()?;
            if batch == 1 && st {
                for n in &m.nodes {
                    println!("  {} {}", n.name, n.op().name());
                }
            }
            let plan = m.into_runnable()?;
            let mut s = plan.spawn()?;
            let xi = Tensor::from_shape::<f32>(&g.input_shape(batch), &x)?.into_tvalue();
            for call in 1..=3 {
                let y = s.run(tvec!(xi.clone()))?;
                let got: Vec<f32> = y[0].to_plain_array_view::<f32>()?.iter().copied().collect();
                let err = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                println!("batch {batch} stateless {st} call {call}: err {err:e}");
            }
            // fresh plan.run per call timing
            if st {
                let t = std::time::Instant::now();
                let n = if batch == 1 { 20000 } else { 500 };
                for _ in 0..n {
                    drop(plan.run(tvec!(xi.clone()))?);
                }
                println!(
                    "  plan.run (fresh state each call): {:.2} µs/call",
                    t.elapsed().as_secs_f64() * 1e6 / n as f64
                );
                let t = std::time::Instant::now();
                for _ in 0..n {
                    drop(s.run(tvec!(xi.clone()))?);
                }
                println!("  reused state: {:.2} µs/call", t.elapsed().as_secs_f64() * 1e6 / n as f64);
            }
        }
    }
    Ok(())
}
