/**
 * The data types of RFC 8620 §1.2-§1.4 as zod schemas (Id, Int, UnsignedInt), shared by every standard
 * method's arguments schema.
 */
import { z } from 'zod';

/** RFC 8620 §1.2: 1-255 octets of URL-safe base64 characters (A-Z, a-z, 0-9, "-", "_"). */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;
export const idSchema = z.string().regex(ID_PATTERN, 'not a JMAP Id (1-255 of A-Za-z0-9-_)');

/** RFC 8620 §5.3: where an id is expected, "#" + a creation id names a record created earlier in the request. */
export const idOrCreationRefSchema = z.string().regex(/^#?[A-Za-z0-9_-]{1,255}$/, 'not a JMAP Id or #creationId');

/** RFC 8620 §1.3: Int is an integer in -2^53+1 ..= 2^53-1. */
export const intSchema = z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

/** RFC 8620 §1.3: UnsignedInt is an Int ≥ 0. */
export const unsignedIntSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** RFC 8620 §1.4: Date/UTCDate as RFC 3339 date-time; UTCDate has "Z" and no fractional zero seconds. */
export const utcDateSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d*[1-9])?Z$/, 'not a UTCDate');
