/** The set of services the API layer is handed (built in main.ts). */
import type { Config } from '../config.ts';
import type { AccountService } from './accounts.ts';
import type { LoginService } from './login.ts';
import type { ProfileService } from './profiles.ts';
import type { RateLimits } from './rateLimits.ts';
import type { RegistrationTokenService } from './registrationTokens.ts';
import type { SessionService } from './sessions.ts';
import type { UiaService } from './uia.ts';
import type { UserIds } from './userIds.ts';
import type { HistoryService } from './rooms/history.ts';
import type { DirectoryService } from './rooms/directory.ts';
import type { RelationService } from './rooms/relations.ts';
import type { SearchService } from './rooms/search.ts';
import type { ClientSupportService } from './clientSupport.ts';
import type { RoomService } from './rooms/roomService.ts';
import type { FilterService } from './sync/filters.ts';
import type { Notifier } from './sync/notifier.ts';
import type { SyncService } from './sync/syncService.ts';
import type { PushService } from './push/pushService.ts';
import type { AccountDataService } from './streams/accountData.ts';
import type { ReceiptService } from './streams/receipts.ts';
import type { TypingService } from './streams/typing.ts';

export interface Services {
  config: Config;
  userIds: UserIds;
  rateLimits: RateLimits;
  sessions: SessionService;
  login: LoginService;
  uia: UiaService;
  accounts: AccountService;
  profiles: ProfileService;
  registrationTokens: RegistrationTokenService;
  notifier: Notifier;
  rooms: RoomService;
  relations: RelationService;
  directory: DirectoryService;
  search: SearchService;
  clientSupport: ClientSupportService;
  history: HistoryService;
  sync: SyncService;
  filters: FilterService;
  accountData: AccountDataService;
  receipts: ReceiptService;
  typing: TypingService;
  push: PushService;
}
