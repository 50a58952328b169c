/** Review before release: the queue of images waiting for a person, and a decision applied to their detections. */
export { ReviewQueue, type QueuedItem, type QueueLimits } from './queue';
export { applyReview, readReviewInput, REVIEW_LABEL, type AppliedReview, type DrawnShape, type ReviewChange, type ReviewInput } from './decision';
