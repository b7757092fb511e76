// The statement both dialects use to find a key row by its lookup digest (current or previous value),
// with its customer's limits and credits (a prepaid balance's limit).

const COLUMNS = "k.id, k.name, k.rate_limit_per_minute, k.is_active, k.budget_nano_usd, k.budget_period, k.tpm_limit, k.max_parallel, k.expires_at, k.allowed_models, k.deleted_at, k.allowed_ips, k.max_output_tokens, k.cache_ttl_s";
const CUSTOMER =
  "c.id AS customer_id, c.name AS customer_name, c.is_active AS customer_active, c.rate_limit_per_minute AS customer_rpm, c.tpm_limit AS customer_tpm, " +
  "c.max_parallel AS customer_parallel, c.budget_nano_usd AS customer_budget, c.budget_period AS customer_budget_period, c.prepaid AS customer_prepaid, " +
  "c.members_version AS customer_version, (SELECT coalesce(sum(l.amount_nano_usd), 0) FROM credit_ledger l WHERE l.customer_id = c.id) AS customer_credits";

/** The row of a key value by its lookup digest (`param`: the dialect's first placeholder). */
export function keyRowSql(param: string): string {
  return `SELECT r.*, ${CUSTOMER} FROM (
       SELECT ${COLUMNS}, k.key_hash, 0 AS previous, NULL AS previous_valid_until, k.customer_id AS cid FROM api_keys k WHERE k.lookup = ${param}
       UNION ALL
       SELECT ${COLUMNS}, k.previous_key_hash AS key_hash, 1 AS previous, k.previous_valid_until, k.customer_id AS cid FROM api_keys k WHERE k.previous_lookup = ${param}
       LIMIT 1
     ) r LEFT JOIN customers c ON c.id = r.cid`;
}
