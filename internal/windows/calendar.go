package windows

// Day numbers count days since 1970-01-01 in the proleptic Gregorian calendar. The conversions
// are Howard Hinnant's days_from_civil and civil_from_days: exact for any year, no time.Date
// calls (which would need a time zone) in loops over days.

const secondsPerDay = 24 * 60 * 60

func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yearOfEra := y - era*400
	dayOfYear := int64((153*((m+9)%12)+2)/5 + d - 1) // counted from 1 March
	dayOfEra := yearOfEra*365 + yearOfEra/4 - yearOfEra/100 + dayOfYear
	return era*146097 + dayOfEra - 719468
}

func civilFromDays(z int64) (y int64, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	dayOfEra := z - era*146097
	yearOfEra := (dayOfEra - dayOfEra/1460 + dayOfEra/36524 - dayOfEra/146096) / 365
	dayOfYear := dayOfEra - (365*yearOfEra + yearOfEra/4 - yearOfEra/100)
	mp := (5*dayOfYear + 2) / 153 // months counted from March
	d = int(dayOfYear - (153*mp+2)/5 + 1)
	m = int(mp+2)%12 + 1
	y = yearOfEra + era*400
	if m <= 2 {
		y++
	}
	return y, m, d
}

// weekday returns the weekday of a day number, Sunday = 0.
func weekday(day int64) int {
	return int(floorMod(day+4, 7)) // 1970-01-01 was a Thursday
}

func isLeap(y int64) bool {
	return y%4 == 0 && (y%100 != 0 || y%400 == 0)
}

var monthLengths = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func daysIn(y int64, m int) int {
	if m == 2 && isLeap(y) {
		return 29
	}
	return monthLengths[m]
}

// daysOfMonth returns the bit mask of the days (bit 1-31) that month m has.
func daysOfMonth(leap bool, m int) uint32 {
	n := monthLengths[m]
	if m == 2 && leap {
		n = 29
	}
	return 1<<(n+1) - 2
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 {
	return a - floorDiv(a, b)*b
}
