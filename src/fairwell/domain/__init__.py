"""Pure domain: no SQL, no network, no clock (time is passed in), no globals."""
