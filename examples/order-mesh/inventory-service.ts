import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type InventoryService,
  type Reservation,
  ReservationSchema,
  StockLevelSchema,
} from "../../gen/acme/inventory/v1/inventory_service_pb.js";

/** How long a reservation holds stock unless the order ships. */
const reservationTtlMs = 15 * 60_000;

/** An in-memory inventory: enough for the demo mesh and for tests of its callers. */
export function createInventoryService(
  initialStock: Readonly<Record<string, number>>,
): ServiceImpl<typeof InventoryService> {
  const available = new Map(Object.entries(initialStock));
  const reservations = new Map<string, Reservation>();

  return {
    checkStock(request) {
      const levels = request.skus.map((sku) =>
        create(StockLevelSchema, { sku, available: available.get(sku) ?? 0 }),
      );
      return { levels };
    },

    reserve(request) {
      if (request.reservationId === "") {
        throw new ConnectError("reservation_id is required", Code.InvalidArgument);
      }
      const existing = reservations.get(request.reservationId);
      if (existing) return { reservation: existing };
      if (request.lines.length === 0) {
        throw new ConnectError("a reservation needs at least one line", Code.InvalidArgument);
      }
      const wanted = new Map<string, number>();
      for (const line of request.lines) {
        if (line.quantity < 1) {
          throw new ConnectError(
            `quantity of ${line.sku} must be at least 1`,
            Code.InvalidArgument,
          );
        }
        wanted.set(line.sku, (wanted.get(line.sku) ?? 0) + line.quantity);
      }
      for (const [sku, quantity] of wanted) {
        const onHand = available.get(sku) ?? 0;
        if (onHand < quantity) {
          throw new ConnectError(
            `insufficient stock for ${sku}: ${quantity} wanted, ${onHand} available`,
            Code.FailedPrecondition,
          );
        }
      }
      for (const [sku, quantity] of wanted)
        available.set(sku, (available.get(sku) ?? 0) - quantity);
      const reservation = create(ReservationSchema, {
        reservationId: request.reservationId,
        lines: request.lines,
        expireTime: timestampFromMs(Date.now() + reservationTtlMs),
      });
      reservations.set(reservation.reservationId, reservation);
      return { reservation };
    },

    release(request) {
      const reservation = reservations.get(request.reservationId);
      if (reservation) {
        for (const line of reservation.lines) {
          available.set(line.sku, (available.get(line.sku) ?? 0) + line.quantity);
        }
        reservations.delete(request.reservationId);
      }
      return {};
    },
  };
}
