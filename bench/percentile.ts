/** The benchmark's one percentile rule, shared by the load generator and the latency floor. */

/** The value at `fraction` of an ascending list (nearest rank, rounding down); 0 for an empty one. */
export function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
}
