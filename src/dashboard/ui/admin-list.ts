// A page's list from the admin API, a message line, and changes that reload the list when done.
import { useEffect, useState } from "preact/hooks";
import { api, type Json } from "./api.ts";

export function useAdminList(path: string) {
  const [items, setItems] = useState<Json[]>([]);
  const [message, setMessage] = useState("");
  const load = () => api(path).then(setItems, (e) => setMessage(e.message));
  useEffect(() => void load(), [path]);
  /** Runs a change; says `done` (or what went wrong) and reloads the list. */
  const act = async (work: Promise<unknown>, done: string) => {
    try {
      await work;
      setMessage(done);
      await load();
    } catch (e) {
      setMessage((e as Error).message);
    }
  };
  return { items, message, act };
}
