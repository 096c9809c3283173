"""Self-checks of the simulator. Run from /work/main/models:
    /usr/bin/python3 -m unittest ibert_sim.test_ibert_sim -v

1. numerics.md's worked examples of the load-time constants;
2. load-time constants against the literal torch expressions of HF's
   quant_modules.py (torch 1.13, float64 and float32);
3. run time against a float64 torch replay of HF's integer algorithms fed with
   exactly representable ("round-trip") integers (numerics.md 11);
4. isqrt Newton against math.isqrt, and the fused softmax step against the
   exact rational step.
"""

import math
import random
import unittest
from fractions import Fraction

import numpy as np
import torch

from . import dyadic, gelu, layernorm, softmax

TORCH_DT = {np.float64: torch.float64, np.float32: torch.float32}


def log_uniform(rng, lo, hi):
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


class WorkedExamples(unittest.TestCase):
    def test_gelu(self):
        self.assertEqual([gelu.gelu_constants(1e-3)[k] for k in ("b_int", "c_int", "shift_int")],
                         [-2502, -6925075, -423])
        self.assertEqual([gelu.gelu_constants(1e-4)[k] for k in ("b_int", "c_int", "shift_int")],
                         [-25018, -692507494, -42268])

    def test_softmax(self):
        c = softmax.softmax_constants(0.01, 0.0, 1.0)
        self.assertEqual((c["x0_int"], c["b_int"], c["c_int"]), (-70, 270, 27921))
        c = softmax.softmax_constants(1e-3, 0.0, 1.0)
        self.assertEqual((c["x0_int"], c["b_int"], c["c_int"]), (-694, 2707, 2792114))

    def test_frexp_dyadic(self):
        self.assertEqual(dyadic.frexp_dyadic(0.0), (0, 31))
        self.assertEqual(dyadic.frexp_dyadic(0.5), (2**30, 31))
        self.assertEqual(dyadic.frexp_dyadic(-0.75), (-3 * 2**29, 31))
        # frac = 1 - 2^-33: frac * 2^31 = 2^31 - 0.25 rounds to 2^31 (kept).
        self.assertEqual(dyadic.frexp_dyadic(1 - 2**-33), (2**31, 31))
        # an exact .5 tie rounds away from zero: frac*2^31 = 2^30 + 0.5
        self.assertEqual(dyadic.frexp_dyadic((2**30 + 0.5) / 2**31), (2**30 + 1, 31))
        self.assertEqual(dyadic.frexp_dyadic(-(2**30 + 0.5) / 2**31), (-(2**30 + 1), 31))

    def test_rne(self):
        self.assertEqual([dyadic.rne_div_pow2(t, 1) for t in (-3, -1, 1, 3, 5)], [-2, 0, 0, 2, 2])
        self.assertEqual(dyadic.rne_div_pow2(3, -2), 12)
        self.assertEqual(dyadic.requant(1000, 2**30, 33, bits=8), 125)
        self.assertEqual(dyadic.requant(1002, 2**30, 33, bits=8), 125)   # 125.25
        self.assertEqual(dyadic.requant(1004, 2**30, 33, bits=8), 126)   # 125.5 -> even 126
        self.assertEqual(dyadic.requant(1020, 2**30, 33, bits=8), 127)   # clamp
        self.assertEqual(dyadic.requant(10, 2**30, 31, bits=8, identity=(-4, 2**30, 32)), 4)
        # each branch rounds on its own: 0.5 -> 0 twice, not rne(1.0) = 1
        self.assertEqual(dyadic.requant(1, 2**30, 31, bits=8, identity=(1, 2**30, 31)), 0)


class ConstantsVsTorch(unittest.TestCase):
    """The literal HF expressions, evaluated by torch, against the numpy emulation."""

    def scales(self, n, lo, hi, seed):
        rng = random.Random(seed)
        return [log_uniform(rng, lo, hi) for _ in range(n)]

    def test_gelu_constants(self):
        for T in (np.float64, np.float32):
            dt = TORCH_DT[T]
            for S in self.scales(3000, 1e-6, 1e-1, 1):
                sf = torch.tensor([float(T(S))], dtype=dt)
                sp = sf / 1.4142
                coeff = [-0.2888, -1.769, 1]
                coeff[2] /= coeff[0]
                b_int = torch.floor(coeff[1] / sp)
                c_int = torch.floor(coeff[2] / sp**2)
                erf_scale = sp**2 * coeff[0]
                erf_scale = erf_scale * 2**14
                shift_int = 1.0 // erf_scale
                out_scale = sf * erf_scale / 2
                c = gelu.gelu_constants(S, T)
                self.assertEqual(c["b_int"], int(b_int.item()), (T, S))
                self.assertEqual(c["c_int"], int(c_int.item()), (T, S))
                self.assertEqual(c["shift_int"], int(shift_int.item()), (T, S))
                self.assertEqual(float(c["out_scale"]), out_scale.item(), (T, S))

    def test_softmax_constants(self):
        for T in (np.float64, np.float32):
            dt = TORCH_DT[T]
            for S in self.scales(3000, 1e-4, 0.1, 2):
                sf = torch.tensor([float(T(S))], dtype=dt)
                coef = [0.35815147, 0.96963238, 1.0]
                coef[1] /= coef[0]
                coef[2] /= coef[0]
                x0_int = torch.floor(-0.6931 / sf)
                b_int = torch.floor(coef[1] / sf)
                c_int = torch.floor(coef[2] / sf**2)
                exp_scale = coef[0] * sf**2 / 2**30
                c = softmax.softmax_constants(S, 0.0, 1.0, T)
                self.assertEqual(c["x0_int"], int(x0_int.item()), (T, S))
                self.assertEqual(c["b_int"], int(b_int.item()), (T, S))
                self.assertEqual(c["c_int"], int(c_int.item()), (T, S))
                self.assertEqual(float(c["exp_scale"]), exp_scale.item(), (T, S))

    def test_layernorm_constants(self):
        rng = np.random.default_rng(3)
        for T in (np.float64, np.float32):
            dt = TORCH_DT[T]
            for n in (8, 96, 768):
                gamma = rng.uniform(-2, 2, n) * 10 ** rng.uniform(-3, 0, n)
                beta = rng.normal(0, 1, n)
                g, b = torch.tensor(gamma, dtype=dt), torch.tensor(beta, dtype=dt)
                dim_sqrt = torch.sqrt(torch.tensor(n, dtype=torch.float))
                sf = dim_sqrt / 2**30
                bias_int = torch.floor((b / g) / sf)
                out_scale = sf * g
                c = layernorm.layernorm_constants(gamma, beta, T)
                self.assertEqual(c["bias_int"], [int(v) for v in bias_int.tolist()])
                self.assertEqual([float(v) for v in c["out_scale"]], out_scale.tolist())


class RunTimeVsTorchReplay(unittest.TestCase):
    """HF's integer algorithms in float64 torch on exactly representable integers."""

    def test_gelu(self):
        rng = np.random.default_rng(4)
        for S in (1e-2, 1e-3, 3e-4, 1e-4):
            c = gelu.gelu_constants(S)
            x = np.concatenate([rng.integers(-int(12 / S), int(12 / S), 4000), [0, 1, -1]])
            xt = torch.tensor(x, dtype=torch.float64)
            b, cc, sh = float(c["b_int"]), float(c["c_int"]), float(c["shift_int"])
            sign = torch.sign(xt)
            abs_int = torch.min(torch.abs(xt), torch.tensor(-b, dtype=torch.float64))
            y = sign * ((abs_int + b) ** 2 + cc)
            y = torch.floor(y / 2**14)
            out = xt * (y + sh)
            sim = [gelu.int_gelu_element(int(v), c["b_int"], c["c_int"], c["shift_int"]) for v in x]
            for v, s, h in zip(x, sim, out.tolist()):
                if abs(s) < 2**53:
                    self.assertEqual(s, int(h), (S, v))

    def hf_softmax(self, x, c):
        x = torch.tensor(x, dtype=torch.float64)
        x = x - x.max(dim=-1, keepdim=True)[0]
        x0 = float(c["x0_int"])
        x = torch.max(x, torch.tensor(30 * x0, dtype=torch.float64))
        q = torch.floor(x / x0)
        r = x - x0 * q
        z = (r + c["b_int"]) * r + c["c_int"]
        exp_int = torch.clamp(torch.floor(z * 2 ** (30 - q)), min=0)
        z_int = torch.round(exp_int / float(c["exp_scale"]))
        e16 = torch.round(z_int * float(c["act_m"]) / (2.0 ** c["act_e"]))
        e16 = torch.clamp(e16, -32768, 32767)
        s = e16.sum(dim=-1, keepdim=True)
        factor = torch.floor(2**32 / s)
        return torch.floor(e16 * factor / 2**24)

    def test_softmax(self):
        rng = np.random.default_rng(5)
        for S in (0.05, 0.01, 1e-3, 1e-4):
            c0 = softmax.softmax_constants(S, 0.0, 1.0)
            top = c0["c_int"] * 2**30
            for widen in (1.0, 1.3, 2.0):
                c = softmax.softmax_constants(S, -1e-5, top * widen)
                x = rng.integers(-int(12 / S), int(12 / S), (40, 24))
                ref = self.hf_softmax(x, c).tolist()
                sim = softmax.int_softmax(x.tolist(), c)
                self.assertEqual(sim, [[int(v) for v in r] for r in ref], (S, widen))

    def test_layernorm(self):
        rng = np.random.default_rng(6)
        for n, shift, span in ((16, 0, 2**21), (64, 2, 2**21), (768, 1, 2**15), (96, 0, 2**21)):
            x = rng.integers(-span, span, (12, n))
            bias = rng.integers(-2**33, 2**33, n).tolist()
            xt = torch.tensor(x, dtype=torch.float64)
            mean = torch.round(xt.mean(axis=1, keepdim=True))
            y = xt - mean
            ys = torch.floor(y / 2**shift)
            var = torch.sum(ys**2, axis=1, keepdim=True)
            std = torch.floor(torch.sqrt(var)) * 2**shift
            factor = torch.floor(2**31 / std)
            out = torch.floor(y * factor / 2) + torch.tensor(bias, dtype=torch.float64)
            sim = layernorm.int_layernorm(x.tolist(), shift, bias)
            self.assertEqual(sim, [[int(v) for v in r] for r in out.tolist()], (n, shift))


class IntegerHelpers(unittest.TestCase):
    def test_isqrt_newton(self):
        rng = random.Random(7)
        values = list(range(0, 5000))
        for k in range(1, 64):
            for d in (-2, -1, 0, 1, 2):
                values.append(max(0, k * k + d))
                values.append(max(0, 2**k + d))
        for _ in range(20000):
            values.append(rng.getrandbits(rng.randint(1, 64)))
        r = rng.getrandbits(31) + 2**31
        values += [r * r - 1, r * r, r * r + 1, 2**63 - 1, 2**63, 2**64 - 1]
        for v in values:
            root, steps = layernorm.isqrt_newton(v)
            self.assertEqual(root, math.isqrt(v), v)
            if v < 2**32:
                self.assertLessEqual(steps, 6, v)
            elif v < 2**63:
                self.assertLessEqual(steps, 7, v)

    def test_fused_vs_exact_softmax_step(self):
        # The fused 63-bit step agrees with the exact rational one (numerics.md 5.3).
        rng = np.random.default_rng(8)
        for S in (0.05, 0.01, 1e-3, 1e-4):
            c = softmax.softmax_constants(S, 0.0, softmax.softmax_constants(S, 0, 1)["c_int"] * 2**30)
            x = rng.integers(-int(25 / S), 1, (50, 32)).tolist()
            for row in x:
                yf, ef = softmax.int_softmax_row(row, c, mode="fused")
                ye, ee = softmax.int_softmax_row(row, c, mode="exact")
                self.assertEqual(ef, ee)
                self.assertEqual(yf, ye)

    def test_fused_act16_normalized(self):
        for R in (Fraction(1, 3), Fraction(2**-40), Fraction(12345, 2**70)):
            M, E = softmax.fused_act16(R)
            self.assertTrue(2**62 <= M < 2**63)
            self.assertLessEqual(abs(Fraction(M, 2**E) - R * 2**30), Fraction(1, 2**(E + 1)))


if __name__ == "__main__":
    unittest.main()
