// The statement both dialects use to find a key row by its lookup digest (current or previous value).

const COLUMNS = "id, name, rate_limit_per_minute, is_active, budget_nano_usd, budget_period, tpm_limit, max_parallel, expires_at, allowed_models, deleted_at, allowed_ips, max_output_tokens";

/** The row of a key value by its lookup digest (`param`: the dialect's first placeholder). */
export function keyRowSql(param: string): string {
  return `SELECT ${COLUMNS}, key_hash, 0 AS previous, NULL AS previous_valid_until FROM api_keys WHERE lookup = ${param}
     UNION ALL
     SELECT ${COLUMNS}, previous_key_hash AS key_hash, 1 AS previous, previous_valid_until FROM api_keys WHERE previous_lookup = ${param}
     LIMIT 1`;
}
