/** market/: properties, constraint filters, demands and offers, agreement terms, strategies (DESIGN §5). */
export {
  isPropertyKey,
  numberProperty,
  parseProperties,
  PROP,
  propertyValues,
  stringProperty,
  type Properties,
  type PropertyScalar,
  type PropertyValue,
} from "./properties.js";
export { ConstraintParseError } from "./errors.js";
export {
  escapeConstraintValue,
  formatConstraint,
  MAX_CONSTRAINT_DEPTH,
  MAX_CONSTRAINT_LENGTH,
  parseConstraint,
  type CompareOp,
  type ConstraintNode,
} from "./constraint-parser.js";
export { Constraints, evaluateConstraint, explainConstraint } from "./constraints.js";
export {
  demandFromWire,
  offerFromWire,
  SpecBuilder,
  specToWire,
  type Demand,
  type MarketSpec,
  type Offer,
  type SpecWire,
} from "./spec.js";
export {
  DemandBuilder,
  demandFor,
  resolveDemandOptions,
  TASK_PACKAGE_RE,
  type DemandOptions,
  type ResolvedDemandOptions,
} from "./demand.js";
export { OfferBuilder, type OfferedResources } from "./offer.js";
export { matches, type MatchResult } from "./matching.js";
export {
  agreedPaymentTerms,
  agreementTerms,
  isTerminationReason,
  terminationReasons,
  type AgreementTerms,
  type AgreementTermsInput,
  type Termination,
  type TerminationReason,
} from "./agreement.js";
export {
  providerLabel,
  providerName,
  rankOffers,
  type MarketStrategy,
  type OfferCandidate,
  type RankedOffers,
  type ScoreResult,
} from "./strategy.js";
export {
  LeastExpensiveLinearPayu,
  resolveLeastExpensiveOptions,
  type LeastExpensiveLinearPayuOptions,
  type ResolvedLeastExpensiveLinearPayuOptions,
} from "./least-expensive.js";
export { DecreaseScoreForUnconfirmedAgreement, type DecreaseScoreOptions } from "./decrease-score.js";
export { ProviderFilter, type ProviderFilterOptions } from "./provider-filter.js";
export {
  agreementDocument,
  canonicalSpec,
  checkSignedAgreement,
  signAgreement,
  specBody,
  verifyAgreementSignature,
  type SpecBody,
  type AgreementDocument,
  type SignedAgreement,
} from "./signed-agreement.js";
export {
  activitySubject,
  batchEventsSubject,
  demandSubject,
  marketSubject,
  offersSubject,
} from "./subjects.js";
