/** A statement written with `?` placeholders (SQLite's) with PostgreSQL's numbered ones instead. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
