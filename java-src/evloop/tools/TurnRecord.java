package evloop.tools;

import evloop.FdEvent;
import java.util.List;

/**
 * One recorded turn.
 *
 * @param turn the loop's turn counter at that turn
 * @param pairs the pairs it returned
 */
public record TurnRecord(long turn, List<FdEvent> pairs) {}
