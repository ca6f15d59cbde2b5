/**
 * Core/echo (RFC 8620 §4): answers with exactly the arguments it was called with, for testing connectivity.
 */
import { CORE_CAPABILITY } from '../capabilities.ts';
import { defineMethod } from '../method.ts';
import { jsonObjectSchema } from '../request.ts';

export const CORE_ECHO = defineMethod({
  capability: CORE_CAPABILITY,
  account: 'none',
  // RFC 8620 §4.1: any arguments at all; they are returned unchanged (after result references were resolved).
  args: jsonObjectSchema,
  handle: (args) => args,
});
