//! Straight-line distance between two points on the earth, in whole metres.
//!
//! Great-circle (haversine) distance on a sphere of the mean earth radius. The float
//! arithmetic stays in here: the result is rounded once to whole metres, and everything that
//! decides (the proximity limit, the distance points) compares integers, so the same two
//! points give the same answer on every machine and the limit's edge is exact.

use hearth_county::GeoPoint;

/// The earth's mean radius in metres: IUGG's R₁ = (2a + b) / 3 of the WGS 84 ellipsoid,
/// 6371.0088 km. A sphere of this radius has the smallest mean error against the ellipsoid
/// (at most about 0.5 % on a long north–south line), far below what "within 50 km of the main
/// town" can mean, and it is what the positions (WGS 84 micro-degrees) are given in.
pub const EARTH_MEAN_RADIUS_M: f64 = 6_371_008.8;

/// A distance in whole metres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Distance {
    pub metres: u64,
}

impl Distance {
    pub const fn from_metres(metres: u64) -> Self {
        Self { metres }
    }

    /// The great-circle distance between two points.
    pub fn between(a: GeoPoint, b: GeoPoint) -> Self {
        Origin::new(a).distance_to(b)
    }

    /// Whole kilometres, rounded half up: what staff are shown.
    pub const fn rounded_km(self) -> u64 {
        self.metres.saturating_add(500) / 1000
    }

    /// Whether the distance is at most `max_km` kilometres, exactly: 50 000 m is within 50 km,
    /// 50 001 m is not.
    pub const fn is_within_km(self, max_km: u32) -> bool {
        self.metres <= max_km as u64 * 1000
    }
}

/// A point the distances are measured from, with its trigonometry done once (one request, many
/// families).
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    latitude: f64,
    longitude: f64,
    cos_latitude: f64,
}

impl Origin {
    pub fn new(point: GeoPoint) -> Self {
        let (latitude, longitude) = radians(point);
        Self {
            latitude,
            longitude,
            cos_latitude: latitude.cos(),
        }
    }

    /// The haversine distance from the origin to `point`.
    pub fn distance_to(&self, point: GeoPoint) -> Distance {
        let (latitude, longitude) = radians(point);
        let half_dlat = ((latitude - self.latitude) / 2.0).sin();
        let half_dlon = ((longitude - self.longitude) / 2.0).sin();
        let h = half_dlat * half_dlat + self.cos_latitude * latitude.cos() * half_dlon * half_dlon;
        // `h` can leave [0, 1] by a rounding error at antipodes; clamp before the square root.
        let central_angle = 2.0 * h.clamp(0.0, 1.0).sqrt().asin();
        let metres = (central_angle * EARTH_MEAN_RADIUS_M).round();
        // At most half the circumference (about 20 000 km), so the cast cannot truncate.
        Distance::from_metres(metres as u64)
    }
}

fn radians(point: GeoPoint) -> (f64, f64) {
    let per_microdegree = std::f64::consts::PI / 180_000_000.0;
    (
        f64::from(point.latitude_microdegrees) * per_microdegree,
        f64::from(point.longitude_microdegrees) * per_microdegree,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn point(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint {
            latitude_microdegrees: (lat * 1e6).round() as i32,
            longitude_microdegrees: (lon * 1e6).round() as i32,
        }
    }

    #[test]
    fn one_degree_of_latitude_is_about_111_km() {
        let d = Distance::between(point(60.0, 15.0), point(61.0, 15.0));
        // 2πR/360 = 111 195.08 m.
        assert_eq!(d.metres, 111_195);
        assert_eq!(d.rounded_km(), 111);
    }

    #[test]
    fn falun_to_borlange_is_about_17_km() {
        // Falun 60.6065 N 15.6355 E, Borlänge 60.4858 N 15.4371 E.
        let d = Distance::between(point(60.6065, 15.6355), point(60.4858, 15.4371));
        assert!((17_000..=17_600).contains(&d.metres), "{d:?}");
    }

    #[test]
    fn the_same_point_is_zero_and_the_distance_is_symmetric() {
        let a = point(60.6065, 15.6355);
        let b = point(61.0, 14.5);
        assert_eq!(Distance::between(a, a).metres, 0);
        assert_eq!(Distance::between(a, b), Distance::between(b, a));
    }

    #[test]
    fn antipodes_are_half_the_circumference() {
        let d = Distance::between(point(0.0, 0.0), point(0.0, 180.0));
        assert_eq!(
            d.metres,
            (std::f64::consts::PI * EARTH_MEAN_RADIUS_M).round() as u64
        );
    }

    #[test]
    fn the_limit_is_exact_in_metres_and_shown_rounded() {
        assert!(Distance::from_metres(50_000).is_within_km(50));
        assert!(!Distance::from_metres(50_001).is_within_km(50));
        assert!(Distance::from_metres(0).is_within_km(0));
        assert_eq!(Distance::from_metres(49_499).rounded_km(), 49);
        assert_eq!(Distance::from_metres(49_500).rounded_km(), 50);
    }
}
