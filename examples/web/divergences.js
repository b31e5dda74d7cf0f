// Jensen–Shannon divergence and PSI of the page's two distributions, from the package.
import { jsDivergence, psi } from "../../dist/index.js";

/**
 * JS(P, Q) = ½·D(p̂‖m) + ½·D(q̂‖m) with m = (p̂ + q̂)/2 (finite even where one side has zeros;
 * ≤ ln 2 nats) and PSI(P, Q) = Σ (p̂ᵢ − q̂ᵢ)·ln(p̂ᵢ/q̂ᵢ) (= Jeffreys' divergence), of the
 * normalised inputs. `options.base` as for kl(); throws what kl() throws for invalid input.
 */
export function jsDivergenceAndPsi(p, q, options = {}) {
  return { js: jsDivergence(p, q, options), psi: psi(p, q, options) };
}
