/**
 * Sync and room-event filters (spec: "Filtering"): the parts Whisper applies — timeline
 * limit, room and type selection, lazy-loading members, include_leave. Unknown fields are
 * kept (clients send more than servers must honour) but typed fields must have their type.
 */
import { z } from 'zod';

const eventFilter = z.object({
  limit: z.number().int().min(0).max(1000).optional(),
  types: z.array(z.string()).max(100).optional(),
  not_types: z.array(z.string()).max(100).optional(),
  senders: z.array(z.string()).max(1000).optional(),
  not_senders: z.array(z.string()).max(1000).optional(),
}).loose();

const roomEventFilter = eventFilter.extend({
  lazy_load_members: z.boolean().optional(),
  include_redundant_members: z.boolean().optional(),
  rooms: z.array(z.string()).max(1000).optional(),
  not_rooms: z.array(z.string()).max(1000).optional(),
  contains_url: z.boolean().optional(),
}).loose();

export const filterSchema = z.object({
  event_fields: z.array(z.string()).optional(),
  event_format: z.enum(['client', 'federation']).optional(),
  presence: eventFilter.optional(),
  account_data: eventFilter.optional(),
  room: z.object({
    rooms: z.array(z.string()).max(1000).optional(),
    not_rooms: z.array(z.string()).max(1000).optional(),
    include_leave: z.boolean().optional(),
    timeline: roomEventFilter.optional(),
    state: roomEventFilter.optional(),
    ephemeral: roomEventFilter.optional(),
    account_data: roomEventFilter.optional(),
  }).loose().optional(),
}).loose();

export type Filter = z.infer<typeof filterSchema>;
export type RoomEventFilter = z.infer<typeof roomEventFilter>;
export const roomEventFilterSchema = roomEventFilter;

export const DEFAULT_TIMELINE_LIMIT = 10;
const MAX_TIMELINE_LIMIT = 100;

export function timelineLimit(filter: Filter): number {
  return Math.min(filter.room?.timeline?.limit ?? DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT);
}

export function roomSelected(filter: Filter, roomId: string): boolean {
  const r = filter.room;
  if (r?.rooms && !r.rooms.includes(roomId)) return false;
  if (r?.not_rooms?.includes(roomId)) return false;
  return true;
}

/** A glob-free type match: the spec allows a trailing '*' wildcard. */
function typeMatches(pattern: string, type: string): boolean {
  return pattern.endsWith('*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}

export function eventSelected(f: RoomEventFilter | undefined, e: { type: string; sender: string }): boolean {
  if (!f) return true;
  if (f.types && !f.types.some((p) => typeMatches(p, e.type))) return false;
  if (f.not_types?.some((p) => typeMatches(p, e.type))) return false;
  if (f.senders && !f.senders.includes(e.sender)) return false;
  if (f.not_senders?.includes(e.sender)) return false;
  return true;
}
