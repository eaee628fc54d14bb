package evloop;

import java.util.List;

/** One recorded turn: its number (the loop's turn counter) and the pairs it returned. */
public record TurnRecord(long turn, List<FdEvent> pairs) {}
