// Preloaded by bunfig.toml: integration tests start real servers and the compiled binary.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(60_000);
