//! The layer loops the SIMD kernels share: the outer layers, where a butterfly's two inputs lie
//! at least one register apart, do not depend on the register width beyond a stride.
//!
//! Each macro expands inside a kernel's `#[target_feature]` function (in an `unsafe` block)
//! and calls that module's `load`, `store`, `splat`, `fwd_bfly`, `inv_bfly` and
//! `inv_last_bfly` on its own vector type, so the loop is written once and compiled once per
//! instruction set. `$lanes` is the number of `u64` in a register.

/// The forward layers with butterfly distance `t >= $lanes`: pairs of layers (radix 4, one
/// load and store of the data per two layers) while `t >= 2 $lanes`, then the layer
/// `t = $lanes` alone if one is left. Evaluates to the block count `m` of the next layer
/// (distance `$lanes / 2`), which the kernel's register-resident tail continues from.
///
/// Reads `$n` values at `$p` and `$n` twiddles at `$fw` and their Shoup constants at `$fs`.
macro_rules! forward_outer_layers {
    ($p:expr, $fw:expr, $fs:expr, $n:expr, $c:expr, $lanes:expr) => {{
        let (p, fw, fs, n, c, lanes): (*mut u64, *const u64, *const u64, usize, _, usize) =
            ($p, $fw, $fs, $n, $c, $lanes);
        let mut m = 1;
        let mut t = n / 2;
        // Layers (m, t) and (2m, t/2) together: in each block of 2t values, quarters x0..x3.
        while t >= 2 * lanes {
            let h = t / 2;
            for i in 0..m {
                let w1 = splat(*fw.add(m + i), *fs.add(m + i));
                let w2 = splat(*fw.add(2 * m + 2 * i), *fs.add(2 * m + 2 * i));
                let w3 = splat(*fw.add(2 * m + 2 * i + 1), *fs.add(2 * m + 2 * i + 1));
                let b = p.add(2 * t * i);
                for j in (0..h).step_by(lanes) {
                    let b = b.add(j);
                    let (x0, x1, x2, x3) = (load(b), load(b.add(h)), load(b.add(t)), load(b.add(t + h)));
                    let (x0, x2) = fwd_bfly(x0, x2, w1, c);
                    let (x1, x3) = fwd_bfly(x1, x3, w1, c);
                    let (x0, x1) = fwd_bfly(x0, x1, w2, c);
                    let (x2, x3) = fwd_bfly(x2, x3, w3, c);
                    store(b, x0);
                    store(b.add(h), x1);
                    store(b.add(t), x2);
                    store(b.add(t + h), x3);
                }
            }
            m <<= 2;
            t >>= 2;
        }
        if t == lanes {
            for i in 0..m {
                let w = splat(*fw.add(m + i), *fs.add(m + i));
                let b = p.add(2 * lanes * i);
                let (x, y) = fwd_bfly(load(b), load(b.add(lanes)), w, c);
                store(b, x);
                store(b.add(lanes), y);
            }
            m <<= 1;
        }
        m
    }};
}

/// The inverse layers with butterfly distance `t >= $lanes`, after the kernel's
/// register-resident head has done those below: the layer `t = $lanes` alone if the count of
/// layers before the last is odd, then pairs of layers, then the last layer (`t = n/2`) with
/// `N^-1` merged in (`inv_last_bfly`).
///
/// Reads `$n` values at `$p`, `$n` twiddles at `$iw` and their Shoup constants at `$is`;
/// `$last` holds the last layer's two twiddles (`N^-1` and `N^-1 psi^-brv(1)`, splatted) and
/// `$strict` says whether the outputs go to `[0, q)`.
macro_rules! inverse_outer_layers {
    ($n:expr, $p:expr, $iw:expr, $is:expr, $c:expr, $lanes:expr, $strict:expr, $last:expr) => {{
        let (n, p, iw, is, c, lanes, strict): (usize, *mut u64, *const u64, *const u64, _, usize, bool) =
            ($n, $p, $iw, $is, $c, $lanes, $strict);
        let mut t = lanes;
        let mut h = n / (2 * lanes);
        // Layers t = lanes .. n/4 remain before the last one: an odd count takes one alone.
        if (n.trailing_zeros() - 1 - lanes.trailing_zeros()) % 2 == 1 {
            for i in 0..h {
                let w = splat(*iw.add(h + i), *is.add(h + i));
                let b = p.add(2 * lanes * i);
                let (x, y) = inv_bfly(load(b), load(b.add(lanes)), w, c);
                store(b, x);
                store(b.add(lanes), y);
            }
            t <<= 1;
            h >>= 1;
        }
        // Layers (h, t) and (h/2, 2t) together: in each block of 4t values, quarters x0..x3.
        while h > 1 {
            for i in 0..h / 2 {
                let w1 = splat(*iw.add(h + 2 * i), *is.add(h + 2 * i));
                let w2 = splat(*iw.add(h + 2 * i + 1), *is.add(h + 2 * i + 1));
                let w3 = splat(*iw.add(h / 2 + i), *is.add(h / 2 + i));
                let b = p.add(4 * t * i);
                for j in (0..t).step_by(lanes) {
                    let b = b.add(j);
                    let (x0, x1, x2, x3) = (load(b), load(b.add(t)), load(b.add(2 * t)), load(b.add(3 * t)));
                    let (x0, x1) = inv_bfly(x0, x1, w1, c);
                    let (x2, x3) = inv_bfly(x2, x3, w2, c);
                    let (x0, x2) = inv_bfly(x0, x2, w3, c);
                    let (x1, x3) = inv_bfly(x1, x3, w3, c);
                    store(b, x0);
                    store(b.add(t), x1);
                    store(b.add(2 * t), x2);
                    store(b.add(3 * t), x3);
                }
            }
            t <<= 2;
            h >>= 2;
        }
        debug_assert!(h == 1 && t == n / 2);
        let (w0, w1) = $last;
        let (lo, hi) = (p, p.add(t));
        for j in (0..t).step_by(lanes) {
            let (s, d) = inv_last_bfly(load(lo.add(j)), load(hi.add(j)), w0, w1, c, strict);
            store(lo.add(j), s);
            store(hi.add(j), d);
        }
    }};
}
