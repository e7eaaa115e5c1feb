/**
 * User directory (spec: /user_directory/search): finds people the searcher can reach — friends,
 * those sharing a room with them and those in published rooms — never the whole server, so
 * accounts stay private to the rooms they are in (and hidden from people they blocked).
 */
import type { Db } from '../storage/database.ts';
import * as directory from '../storage/userDirectory.ts';

export interface DirectoryResult {
  results: Array<{ user_id: string; display_name?: string; avatar_url?: string }>;
  limited: boolean;
}

const MAX_LIMIT = 50;

export class UserDirectoryService {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  async search(requesterId: string, term: string, limit = 10): Promise<DirectoryResult> {
    const wanted = Math.max(1, Math.min(MAX_LIMIT, limit));
    const trimmed = term.trim();
    if (trimmed === '') return { results: [], limited: false };
    const rows = await directory.searchUsers(this.db, requesterId, trimmed, wanted + 1, [requesterId]);
    return {
      results: rows.slice(0, wanted).map((r) => ({
        user_id: r.user_id,
        ...(r.displayname ? { display_name: r.displayname } : {}),
        ...(r.avatar_url ? { avatar_url: r.avatar_url } : {}),
      })),
      limited: rows.length > wanted,
    };
  }
}
