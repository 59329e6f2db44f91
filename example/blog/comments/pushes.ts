// What a post's live socket pushes, as schemas: they only describe (the AsyncAPI document at
// /docs/asyncapi.json lists them), since the server builds these frames itself.
import { z } from 'zod';

export const CommentPushed = z.object({ id: z.string(), author: z.string(), text: z.string(), at: z.iso.datetime() });

/** A reader's presence meta: a signed-in user's name, or a visitor's ("Guest", guest: true). */
export interface Reader {
  name: string;
  guest: boolean;
}

/** A presence list: each reader's key, with one meta per open tab. */
const PresenceList = z.record(z.string(), z.object({ metas: z.array(z.object({ name: z.string(), guest: z.boolean(), ref: z.string() })) }));

export const CommentsPushes = {
  new_comment: CommentPushed,
  presence_state: PresenceList,
  presence_diff: z.object({ joins: PresenceList, leaves: PresenceList }),
};

/** The answer to a `post` request: the stored comment. */
export const Posted = CommentPushed;
