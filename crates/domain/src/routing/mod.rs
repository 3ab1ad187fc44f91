//! Routing rules a team sets per consultant (weights, limits, working hours, leave) and the pure
//! functions that say whether a consultant is available at an instant and when they next will
//! be. The assignment SQL applies the same terms; the persistence property test holds the two
//! together.

mod availability;
mod values;

pub use availability::{next_queue_key, Availability, RoutingRules, Unavailability, Workload};
pub use values::{
    format_time_of_day, parse_date, parse_time_of_day, parse_weekday, Leave, Limit, MinuteOfDay,
    WeeklySchedule, Weight, WorkingHours, Zone,
};
