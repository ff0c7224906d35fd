"""Case statistics for the case team: GB/T 30428 indicators with the cases behind them."""
