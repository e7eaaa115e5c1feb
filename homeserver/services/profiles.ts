/** Profiles: display name and avatar of each user. */
import { errors } from '../errors.ts';
import type { Db } from '../storage/database.ts';
import * as users from '../storage/users.ts';
import type { RoomService } from './rooms/roomService.ts';

export interface Profile {
  displayname?: string;
  avatar_url?: string;
}

const MAX_DISPLAYNAME = 256;
const MXC = /^mxc:\/\/[A-Za-z0-9.\-:\[\]]+\/[A-Za-z0-9_\-]+$/;

export class ProfileService {
  private readonly db: Db;
  private readonly rooms: RoomService;

  constructor(db: Db, rooms: RoomService) {
    this.db = db;
    this.rooms = rooms;
  }

  async get(userId: string): Promise<Profile> {
    const user = await users.getUser(this.db, userId);
    if (!user) throw errors.notFound('Profile not found.');
    const profile: Profile = {};
    if (user.displayname != null) profile.displayname = user.displayname;
    if (user.avatar_url != null) profile.avatar_url = user.avatar_url;
    return profile;
  }

  async setDisplayname(requesterId: string, userId: string, displayname: string | null): Promise<void> {
    this.checkOwn(requesterId, userId);
    if (displayname != null && displayname.length > MAX_DISPLAYNAME) {
      throw errors.invalidParam(`displayname may be at most ${MAX_DISPLAYNAME} characters.`);
    }
    await users.updateUser(this.db, userId, { displayname: displayname || null });
    await this.rooms.refreshProfile(userId);
  }

  async setAvatarUrl(requesterId: string, userId: string, avatarUrl: string | null): Promise<void> {
    this.checkOwn(requesterId, userId);
    if (avatarUrl && !MXC.test(avatarUrl)) throw errors.invalidParam('avatar_url must be an mxc:// URI.');
    await users.updateUser(this.db, userId, { avatar_url: avatarUrl || null });
    await this.rooms.refreshProfile(userId);
  }

  private checkOwn(requesterId: string, userId: string): void {
    if (requesterId !== userId) throw errors.forbidden("You cannot change another user's profile.");
  }
}
