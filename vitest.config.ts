import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Real sockets and real buf runs: generous, but bounded.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
