/**
 * App passwords: how they are generated, and the lookup tag that lets a login find the one app password a
 * candidate can be, so every attempt costs one scrypt check however many app passwords an account has.
 */
import { createHash, randomInt } from 'node:crypto';

// No 0/o, 1/l/i: easy to read off a screen and type on a phone.
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const SHAPE = /^[abcdefghjkmnpqrstuvwxyz23456789]{4}(?:-[abcdefghjkmnpqrstuvwxyz23456789]{4}){3}$/;

/** Four groups of four characters: 16 × log2(31) ≈ 79 bits. */
export function generateAppPassword(): string {
  const groups: string[] = [];
  for (let g = 0; g < 4; g++) {
    let group = '';
    for (let i = 0; i < 4; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}

/** Whether a candidate has the shape generateAppPassword makes (only such a candidate can be one). */
export function looksLikeAppPassword(candidate: string): boolean {
  return SHAPE.test(candidate);
}

/**
 * The indexed lookup key stored beside an app password's scrypt hash. A plain SHA-256 is enough here: app
 * passwords are 79-bit random strings made by the server (never chosen by people), so the tag gives an
 * offline guesser nothing a guess at the whole space would not; the scrypt hash is still what is checked.
 * Account passwords never get a tag.
 */
export function appPasswordTag(candidate: string): string {
  return createHash('sha256').update(`postamt app password\0${candidate}`).digest('hex');
}
