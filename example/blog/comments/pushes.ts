// What the comments socket pushes, as schemas: they only describe (the AsyncAPI document at
// /docs/asyncapi.json lists them), since the server builds these frames itself.
import { z } from 'zod';

export const CommentPushed = z.object({ id: z.string(), text: z.string() });

/** A presence list: each visitor's name, with one meta per open tab. */
const PresenceList = z.record(z.string(), z.object({ metas: z.array(z.object({ name: z.string(), ref: z.string() })) }));

export const CommentsPushes = {
  new_comment: CommentPushed,
  presence_state: PresenceList,
  presence_diff: z.object({ joins: PresenceList, leaves: PresenceList }),
};

/** The answer to a `post` request. */
export const Posted = z.object({ id: z.string() });
