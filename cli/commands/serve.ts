import { defineCommand } from "citty";
import { dbArgs, parseStrict } from "../args.ts";
import { VERSION } from "../../src/version.ts";

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
    "log-format": { type: "string", description: "Log lines as json (default) or pretty (env GATEWAY_LOG_FORMAT); the level is GATEWAY_LOG_LEVEL (debug, info, warn, error)", valueHint: "json|pretty" },
    demo: { type: "boolean", description: "Try the gateway without a provider account: a built-in demo provider answers every model (no model is called; usage and costs are recorded as for a real one)" },
    workers: { type: "string", description: "Threads serving the port (env GATEWAY_WORKERS, default 1; auto: one per core). Every limit stays exact across them; rows are written by one writer", valueHint: "N|auto" },
    "metrics-port": { type: "string", description: "Also serve /metrics without a token on 127.0.0.1:PORT (env GATEWAY_METRICS_PORT)", valueHint: "PORT" },
    ...dbArgs,
  },
  async run({ rawArgs, cmd }) {
    const { flags } = parseStrict(rawArgs, cmd.args as never);
    // Loaded lazily so key commands start fast.
    const { loadServerConfig } = await import("../../src/config.ts");
    const { startServer } = await import("../../src/server.ts");
    const { demo: demoFlag, ...rest } = flags;
    const demo = demoFlag ? (await import("../../src/demo/provider.ts")).startDemoProvider() : undefined;
    const config = loadServerConfig({ ...(rest as Record<string, string | undefined>), demoUrl: demo?.url });
    const server = await startServer(config);
    if (demo) server.logger.warn(`demo mode: the built-in demo provider answers every request (no model is called); default model ${config.defaultModel}`);
    const { logger } = server;
    logger.notice(`gateway listening on http://${config.host}:${server.port} (database ${server.where}${config.workers > 1 ? `, ${config.workers} threads` : ""})`, {
      version: VERSION,
      providers: config.providers.map((p) => p.name).join(","),
      metrics: config.metricsToken ? "/metrics (token)" : server.metricsPort !== undefined ? `127.0.0.1:${server.metricsPort}/metrics` : "off",
      log_level: config.logLevel,
    });
    const shutdown = (signal: string) => {
      logger.notice(`received ${signal}, finishing in-flight requests`);
      server.stop().then(
        () => {
          logger.notice("stopped");
          logger.flush();
          process.exit(0);
        },
        (err) => {
          logger.error(`error during shutdown: ${(err as Error).message}`);
          logger.flush();
          process.exit(1);
        },
      );
    };
    process.once("SIGINT", () => shutdown("SIGINT"));
    process.once("SIGTERM", () => shutdown("SIGTERM"));
  },
});
