import { defineCommand } from "citty";
import { dbArgs, parseStrict } from "../args.ts";

export const serve = defineCommand({
  meta: {
    name: "serve",
    description:
      "Start the gateway HTTP server; SIGINT/SIGTERM stop it gracefully (in-flight requests finish within GATEWAY_SHUTDOWN_GRACE_MS, default 10000)",
  },
  args: {
    port: { type: "string", description: "Port to listen on (env PORT, default 8080; 0 picks a free one)", valueHint: "PORT" },
    host: { type: "string", description: "Address to bind (env HOST, default 0.0.0.0)", valueHint: "HOST" },
    config: { type: "string", description: "TOML config file with providers and prices (env GATEWAY_CONFIG)", valueHint: "PATH" },
    ...dbArgs,
  },
  async run({ rawArgs, cmd }) {
    const { flags } = parseStrict(rawArgs, cmd.args as never);
    // Loaded lazily so key commands start fast.
    const { loadServerConfig } = await import("../../src/config.ts");
    const { startServer } = await import("../../src/server.ts");
    const config = loadServerConfig(flags as Record<string, string | undefined>);
    const server = await startServer(config);
    console.log(`gateway listening on http://${config.host}:${server.port} (database ${config.dbPath})`);
    const shutdown = (signal: string) => {
      console.log(`received ${signal}, finishing in-flight requests...`);
      server.stop().then(
        () => process.exit(0),
        (err) => {
          console.error(`error during shutdown: ${(err as Error).message}`);
          process.exit(1);
        },
      );
    };
    process.once("SIGINT", () => shutdown("SIGINT"));
    process.once("SIGTERM", () => shutdown("SIGTERM"));
  },
});
