"""Column names of the traffic-log contract, as Python constants.

These constants are the only place outside ``log_schema.pbtxt`` where a column name is spelt.
``schemas.contract`` checks at load time that this list and the pbtxt name exactly the same
columns, so the two cannot drift apart silently.
"""

# meta
IMPRESSION_ID = "impression_id"
TIMESTAMP = "timestamp"
# user
USER_ID = "user_id"
USER_AGE_BUCKET = "user_age_bucket"
USER_GENDER = "user_gender"
USER_RECENT_CLICKS = "user_recent_clicks"
# item
ITEM_ID = "item_id"
ITEM_CATEGORY = "item_category"
ITEM_TAGS = "item_tags"
VIDEO_LENGTH_S = "video_length_s"
# context
DAY_OF_WEEK = "day_of_week"
HOUR_OF_DAY = "hour_of_day"
SOURCE_PAGE = "source_page"
# labels as logged
CLICK = "click"
WATCH_TIME_S = "watch_time_s"

# Derived label (not a log column): the CVR target, see ``schemas.labels.watch_ratio``.
WATCH_RATIO = "watch_ratio"

LOG_COLUMNS = (
    IMPRESSION_ID, TIMESTAMP,
    USER_ID, USER_AGE_BUCKET, USER_GENDER, USER_RECENT_CLICKS,
    ITEM_ID, ITEM_CATEGORY, ITEM_TAGS, VIDEO_LENGTH_S,
    DAY_OF_WEEK, HOUR_OF_DAY, SOURCE_PAGE,
    CLICK, WATCH_TIME_S,
)
"""Every log column, in the order CSV files write them."""

DERIVED_COLUMNS = (WATCH_RATIO,)
"""Columns ExampleGen adds to each tf.Example (not in the CSV logs)."""
