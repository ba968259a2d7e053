//! A hand-written baseline for the transformer encoder block of `benches/transformer.rs`, in
//! plain Rust: no nn types, no nalgebra, fixed-size arrays on the stack, no allocation in
//! `forward`, no SIMD intrinsics and no `unsafe`.
//!
//! Input (12, 16) → MultiHeadAttention(2 heads, key_dim 8)(x, x) → Add → LayerNormalization →
//! Dense 32 relu → Dense 16 → Add → LayerNormalization → GlobalAveragePooling1D → Dense 2
//! softmax, Keras 3's formulas. Weights in Keras's layouts and `model.weights` order; each
//! product is the loop a competent engineer writes for the layout (`acc[o] += x[c] · w[c][o]`,
//! contiguous in `o`), attention one head and one query step at a time.

pub const STEPS: usize = 12;
pub const WIDTH: usize = 16;
const HEADS: usize = 2;
const KEY: usize = 8;
const HIDDEN: usize = 32;
pub const CLASSES: usize = 2;
/// LayerNormalization's default epsilon in Keras.
const EPSILON: f32 = 1e-3;

type Seq<const C: usize> = [[f32; C]; STEPS];

pub struct TransformerHand {
    wq: Vec<f32>,
    bq: Vec<f32>,
    wk: Vec<f32>,
    bk: Vec<f32>,
    wv: Vec<f32>,
    bv: Vec<f32>,
    wo: Vec<f32>,
    bo: Vec<f32>,
    gamma1: Vec<f32>,
    beta1: Vec<f32>,
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    b2: Vec<f32>,
    gamma2: Vec<f32>,
    beta2: Vec<f32>,
    w3: Vec<f32>,
    b3: Vec<f32>,
}

/// `x · w + b` at every step, `w` of `(IN, OUT)`.
fn dense<const IN: usize, const OUT: usize>(x: &Seq<IN>, w: &[f32], b: &[f32]) -> Seq<OUT> {
    let mut y = [[0.0; OUT]; STEPS];
    for (xs, ys) in x.iter().zip(y.iter_mut()) {
        ys.copy_from_slice(&b[..OUT]);
        for (c, &xc) in xs.iter().enumerate() {
            for (yo, wo) in ys.iter_mut().zip(&w[c * OUT..(c + 1) * OUT]) {
                *yo += xc * wo;
            }
        }
    }
    y
}

/// Keras's LayerNormalization over the features of each step.
fn layer_norm(x: &mut Seq<WIDTH>, gamma: &[f32], beta: &[f32]) {
    for row in x.iter_mut() {
        let mean = row.iter().sum::<f32>() / WIDTH as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / WIDTH as f32;
        let inv = 1.0 / (var + EPSILON).sqrt();
        for (i, v) in row.iter_mut().enumerate() {
            *v = (*v - mean) * inv * gamma[i] + beta[i];
        }
    }
}

impl TransformerHand {
    /// From the weights in Keras's order, flat.
    pub fn new(w: &[f32]) -> Self {
        let mut at = 0;
        let mut take = |n: usize| {
            at += n;
            w[at - n..at].to_vec()
        };
        let hk = HEADS * KEY;
        TransformerHand {
            wq: take(WIDTH * hk),
            bq: take(hk),
            wk: take(WIDTH * hk),
            bk: take(hk),
            wv: take(WIDTH * hk),
            bv: take(hk),
            wo: take(hk * WIDTH),
            bo: take(WIDTH),
            gamma1: take(WIDTH),
            beta1: take(WIDTH),
            w1: take(WIDTH * HIDDEN),
            b1: take(HIDDEN),
            w2: take(HIDDEN * WIDTH),
            b2: take(WIDTH),
            gamma2: take(WIDTH),
            beta2: take(WIDTH),
            w3: take(WIDTH * CLASSES),
            b3: take(CLASSES),
        }
    }

    pub fn forward(&self, x: &Seq<WIDTH>) -> [f32; CLASSES] {
        let q: Seq<16> = dense(x, &self.wq, &self.bq);
        let k: Seq<16> = dense(x, &self.wk, &self.bk);
        let v: Seq<16> = dense(x, &self.wv, &self.bv);
        let scale = 1.0 / (KEY as f32).sqrt();
        let mut heads = [[0.0f32; 16]; STEPS];
        for h in 0..HEADS {
            let cols = h * KEY..(h + 1) * KEY;
            for (i, out) in heads.iter_mut().enumerate() {
                let mut p = [0.0f32; STEPS];
                let mut max = f32::NEG_INFINITY;
                for (j, pj) in p.iter_mut().enumerate() {
                    let dot: f32 =
                        q[i][cols.clone()].iter().zip(&k[j][cols.clone()]).map(|(a, b)| a * b).sum();
                    *pj = dot * scale;
                    max = max.max(*pj);
                }
                let mut sum = 0.0;
                for pj in p.iter_mut() {
                    *pj = (*pj - max).exp();
                    sum += *pj;
                }
                for (j, pj) in p.iter().enumerate() {
                    let w = pj / sum;
                    for c in cols.clone() {
                        out[c] += w * v[j][c];
                    }
                }
            }
        }
        let attended: Seq<WIDTH> = dense(&heads, &self.wo, &self.bo);
        let mut h = *x;
        for (row, a) in h.iter_mut().zip(&attended) {
            for (v, a) in row.iter_mut().zip(a) {
                *v += a;
            }
        }
        layer_norm(&mut h, &self.gamma1, &self.beta1);
        let mut f: Seq<HIDDEN> = dense(&h, &self.w1, &self.b1);
        f.iter_mut().flatten().for_each(|v| *v = v.max(0.0));
        let g: Seq<WIDTH> = dense(&f, &self.w2, &self.b2);
        for (row, g) in h.iter_mut().zip(&g) {
            for (v, g) in row.iter_mut().zip(g) {
                *v += g;
            }
        }
        layer_norm(&mut h, &self.gamma2, &self.beta2);
        let mut pooled = [0.0f32; WIDTH];
        for row in &h {
            for (p, v) in pooled.iter_mut().zip(row) {
                *p += v / STEPS as f32;
            }
        }
        let mut y = [0.0f32; CLASSES];
        y.copy_from_slice(&self.b3);
        for (c, &p) in pooled.iter().enumerate() {
            for (yo, w) in y.iter_mut().zip(&self.w3[c * CLASSES..(c + 1) * CLASSES]) {
                *yo += p * w;
            }
        }
        let max = y.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let e = y.map(|v| (v - max).exp());
        let sum: f32 = e.iter().sum();
        e.map(|v| v / sum)
    }
}
