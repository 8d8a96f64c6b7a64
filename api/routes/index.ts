/** Every route of the API, in the order the OpenAPI document lists them and Express matches them. */
import type { Route } from '../route';
import { catalogueRoutes } from './catalogue';
import { channelRoutes } from './channels';
import { claimRoutes } from './claims';
import { exchangeRoutes } from './exchanges';
import { editRoutes } from './edits';
import { fulfilmentRoutes } from './fulfilments';
import { healthRoutes } from './health';
import { inboundRoutes } from './inbound';
import { orderRoutes } from './orders';
import { orderTypeRoutes } from './order-types';
import { promotionRoutes } from './promotions';
import { reverseFlowRoutes } from './reverse-flows';
import { webhookRoutes } from './webhooks';

export const ROUTES: readonly Route[] = [
  ...catalogueRoutes,
  ...channelRoutes,
  ...promotionRoutes,
  ...orderRoutes,
  ...reverseFlowRoutes,
  ...claimRoutes,
  ...exchangeRoutes,
  ...editRoutes,
  ...fulfilmentRoutes,
  ...webhookRoutes,
  ...orderTypeRoutes,
  ...inboundRoutes,
  ...healthRoutes,
];
