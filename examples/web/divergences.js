// ┌──────────────────────────────────────────────────────────────────────────────────────┐
// │ STAND-IN, TO BE REPLACED: Jensen–Shannon divergence and PSI composed from kl(), until  │
// │ the package exports its own `jsDivergence` and `psi`. Then the body of this function   │
// │ becomes `return { js: jsDivergence(p, q, options), psi: psi(p, q, options) };`.        │
// └──────────────────────────────────────────────────────────────────────────────────────┘
import { kl } from "../../dist/index.js";

/**
 * For the normalised inputs p̂ = p/Σp, q̂ = q/Σq and their mixture m = (p̂ + q̂)/2:
 * JS(P, Q) = ½·D(p̂‖m) + ½·D(q̂‖m)  (finite even where one side has zeros; ≤ ln 2 nats),
 * PSI(P, Q) = D(P‖Q) + D(Q‖P) = Σ (p̂ᵢ − q̂ᵢ)·ln(p̂ᵢ/q̂ᵢ)  (Jeffreys' divergence).
 * `options.base` as for kl(). Throws what kl() throws for invalid input.
 */
export function jsDivergenceAndPsi(p, q, options = {}) {
  const psi = kl(p, q, options) + kl(q, p, options); // validates both inputs first
  const sumP = p.reduce((a, b) => a + b, 0);
  const sumQ = q.reduce((a, b) => a + b, 0);
  const pHat = Float64Array.from(p, (x) => x / sumP);
  const qHat = Float64Array.from(q, (x) => x / sumQ);
  const m = pHat.map((x, i) => (x + qHat[i]) / 2);
  const js = 0.5 * kl(pHat, m, options) + 0.5 * kl(qHat, m, options);
  return { js, psi };
}
