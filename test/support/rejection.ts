import { ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";

/** The error a call failed with, as a ConnectError; fails the test if the call succeeded. */
export async function rejection(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectError);
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}
