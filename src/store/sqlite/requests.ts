// SQLite's page of request records.
import type { Db } from "./client.ts";
import { type RequestRow, type RequestsPage, type RequestsQuery, requestsQuery, shapeRequests } from "../../usage/requests.ts";

/**
 * Individual request records, newest first. The cursor is the (created_at, id) of the last row seen,
 * so pages never skip or repeat rows even while new requests are being recorded.
 */
export function listRequests(db: Db, q: RequestsQuery): RequestsPage {
  const { sql, params } = requestsQuery(q);
  return shapeRequests(q, db.$client.query<RequestRow, (string | number)[]>(sql).all(...params));
}
