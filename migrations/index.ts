/**
 * The ordered list of migrations. Listed explicitly (not read from the folder) so the same
 * list runs under the server, the admin CLI, tests and a bundled build.
 */
import type { Knex } from 'knex';
import * as accounts from './20261125_001_accounts.ts';
import * as rooms from './20261125_002_rooms.ts';
import * as streams from './20261125_003_streams.ts';
import * as relations from './20261125_004_relations.ts';
import * as directory from './20261125_005_directory.ts';
import * as hasRelations from './20261125_006_has_relations.ts';
import * as pushers from './20261125_007_pushers.ts';
import * as e2ee from './20261125_008_e2ee.ts';
import * as media from './20261125_009_media.ts';
import * as presence from './20261125_010_presence.ts';
import * as friends from './20261202_011_friends.ts';
import * as audit from './20261202_013_audit.ts';
import * as twoFactor from './20261202_014_two_factor.ts';
import * as loginTokens from './20261202_015_login_tokens.ts';
import * as threepids from './20261202_016_threepids.ts';
import * as voiceProcesses from './20261202_017_voice_processes.ts';
import * as hiddenInvites from './20261202_018_hidden_invites.ts';
import * as signerDeviceLists from './20261202_019_signer_device_lists.ts';
import * as roomDepth from './20261203_020_room_depth.ts';

export interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const migrations: Array<[name: string, migration: Migration]> = [
  ['20261125_001_accounts', accounts],
  ['20261125_002_rooms', rooms],
  ['20261125_003_streams', streams],
  ['20261125_004_relations', relations],
  ['20261125_005_directory', directory],
  ['20261125_006_has_relations', hasRelations],
  ['20261125_007_pushers', pushers],
  ['20261125_008_e2ee', e2ee],
  ['20261125_009_media', media],
  ['20261125_010_presence', presence],
  ['20261202_011_friends', friends],
  ['20261202_013_audit', audit],
  ['20261202_014_two_factor', twoFactor],
  ['20261202_015_login_tokens', loginTokens],
  ['20261202_016_threepids', threepids],
  ['20261202_017_voice_processes', voiceProcesses],
  ['20261202_018_hidden_invites', hiddenInvites],
  ['20261202_019_signer_device_lists', signerDeviceLists],
  ['20261203_020_room_depth', roomDepth],
];
